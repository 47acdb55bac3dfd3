"""Gated linear recurrence backbone (Mamba-like), trained with a parallel scan.

Each layer runs a diagonal linear recurrence with an *input-dependent* decay::

    a_t = exp(-softplus(W_dt v_t + b_dt) * exp(A_log))      # in (0, 1), per channel
    h_t = a_t * h_{t-1} + (1 - a_t) * v_t                    # no h in any gate -> parallel over t
    y_t = W_out (h_t * silu(z_t))

where ``v, z`` are projections of the (RMS-normalised) input. Because no gate looks at
``h``, the whole recurrence is an associative scan: training runs it in parallel
over time (:func:`gated_scan`) and its depth does not grow with the sequence, which
is exactly the model class the FBAM paper argues against. :meth:`GatedLinearRNN.step`
runs the same recurrence one step at a time (generation, and the tests' oracle).

The contract: ``y, state = GatedLinearRNN(input_dim, cfg)(x (T, B, D), state)`` with
``y`` (T, B, hidden) and ``state`` a list with one (B, inner) tensor per layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import IntegratorConfig

# The chunk-local scan divides by the running decay product; bounding the decay per
# step and the chunk length keeps that product >= exp(-CHUNK * MAX_LOG_DECAY) = e^-64,
# far from float32 overflow, while still allowing a forget factor as small as 0.018.
SCAN_CHUNK = 16
MAX_LOG_DECAY = 4.0


def gated_scan(log_a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
               chunk: int = SCAN_CHUNK) -> torch.Tensor:
    """All states of ``h_t = exp(log_a_t) * h_{t-1} + b_t``, computed in parallel over t.

    log_a, b: (T, B, C) with ``-MAX_LOG_DECAY <= log_a <= 0``; h0: (B, C) or None (zeros).
    Returns h (T, B, C) in float32 (float64 for float64 inputs). Within chunks of ``chunk`` steps the scan is a
    log-space cumulative sum; chunk end states are combined by a doubling
    (Hillis-Steele) scan, so the depth is O(log T) and nothing overflows.
    """
    t, bsz, ch = b.shape
    # bf16/fp16 would lose the running decay product: scan in at least float32
    dt = torch.promote_types(b.dtype, torch.float32)
    log_a, b = log_a.to(dt), b.to(dt)
    n = max(1, math.ceil(t / chunk))
    pad = n * chunk - t
    if pad:  # a = 1, b = 0 after the end: changes no real step
        log_a = F.pad(log_a, (0, 0, 0, 0, 0, pad))
        b = F.pad(b, (0, 0, 0, 0, 0, pad))
    la = log_a.view(n, chunk, bsz, ch)
    cum = torch.cumsum(la, dim=1)  # (n, chunk, B, C): log of the decay since the chunk start
    # h within each chunk from a zero start: sum_s exp(cum_t - cum_s) b_s
    local = torch.exp(cum) * torch.cumsum(torch.exp(-cum) * b.view(n, chunk, bsz, ch), dim=1)
    decay = torch.exp(cum[:, -1])  # (n, B, C): a chunk's total decay
    end = local[:, -1]  # (n, B, C): a chunk's end state from a zero start
    if h0 is not None:
        end = torch.cat([end[:1] + decay[:1] * h0.to(dt), end[1:]], dim=0)
    # inclusive scan over chunks of (decay, end): doubling steps, each combining with the
    # partial result `step` chunks earlier
    step = 1
    while step < n:
        end = torch.cat([end[:step], end[step:] + decay[step:] * end[:-step]], dim=0)
        decay = torch.cat([decay[:step], decay[step:] * decay[:-step]], dim=0)
        step *= 2
    start = torch.zeros_like(end[:1]) if h0 is None else h0.to(dt)[None]
    entering = torch.cat([start, end[:-1]], dim=0)  # (n, B, C): state entering each chunk
    h = local + torch.exp(cum) * entering[:, None]  # (n, chunk, B, C)
    return h.reshape(n * chunk, bsz, ch)[:t]


class _GatedBlock(nn.Module):
    """Pre-norm residual block: gated linear recurrence, then an optional MLP."""

    def __init__(self, hidden: int, inner: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(hidden)
        self.in_proj = nn.Linear(hidden, 2 * inner)
        self.dt_proj = nn.Linear(inner, inner)
        # Mamba's init: step sizes log-uniform in [1e-3, 1e-1] (decays from 0.999 to 0.9),
        # so some channels remember for ~1000 steps and some for ~10 at the start.
        dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
            self.dt_proj.weight.mul_(0.1)
        self.a_log = nn.Parameter(torch.zeros(inner))
        self.out_proj = nn.Linear(inner, hidden)
        self.ffn = None
        if ffn_mult > 0:
            self.ffn = nn.Sequential(
                nn.RMSNorm(hidden), nn.Linear(hidden, ffn_mult * hidden), nn.GELU(),
                nn.Linear(ffn_mult * hidden, hidden),
            )
        self.dropout = dropout

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (..., hidden) -> log decay, input term, output gate, each (..., inner)."""
        v, z = self.in_proj(self.norm(x)).chunk(2, dim=-1)
        v = F.silu(v)
        dt = F.softplus(self.dt_proj(v))  # input-dependent step size
        log_a = (-dt * torch.exp(self.a_log)).clamp(min=-MAX_LOG_DECAY)
        b = -torch.expm1(log_a) * v  # (1 - a) v: h stays a convex mix of the inputs
        return log_a, b, z

    def finish(self, x: torch.Tensor, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Residual output of the block from the recurrent states ``h``."""
        drop = self.dropout if self.training else 0.0
        x = x + F.dropout(self.out_proj(h.to(z.dtype) * F.silu(z)), drop)
        if self.ffn is not None:
            x = x + F.dropout(self.ffn(x), drop)
        return x

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (T, B, hidden), h0 (B, inner) or None -> (x out (T, B, hidden), last state (B, inner))."""
        log_a, b, z = self.coefficients(x)  # (T, B, inner) each
        h = gated_scan(log_a, b, h0)  # (T, B, inner)
        return self.finish(x, h, z), h[-1]

    def step(self, x: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: x (B, hidden), h0 (B, inner) or None -> (out (B, hidden), h (B, inner))."""
        log_a, b, z = self.coefficients(x)  # (B, inner) each
        dt = torch.promote_types(b.dtype, torch.float32)
        h = b.to(dt) if h0 is None else torch.exp(log_a.to(dt)) * h0.to(dt) + b.to(dt)
        return self.finish(x, h, z), h


class GatedLinearRNN(nn.Module):
    """Stack of gated linear recurrence blocks with the integrator contract.

    Args:
        input_dim: width D of the per-step inputs.
        cfg: ``hidden`` (width), ``layers``, ``ffn_mult`` (0 = no MLP), ``dropout``.
        expand: recurrent state width per layer = ``expand * hidden`` (Mamba uses 2).
    """

    def __init__(self, input_dim: int, cfg: IntegratorConfig, expand: int = 2) -> None:
        super().__init__()
        if cfg.layers < 1:
            raise ValueError("integrator.layers must be >= 1")
        self.hidden = cfg.hidden
        self.inner = expand * cfg.hidden
        self.in_proj = nn.Linear(input_dim, cfg.hidden)
        self.blocks = nn.ModuleList(
            _GatedBlock(cfg.hidden, self.inner, cfg.ffn_mult, cfg.dropout) for _ in range(cfg.layers)
        )
        self.norm = nn.RMSNorm(cfg.hidden)

    def forward(self, x: torch.Tensor, state: list[torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x (T, B, D) -> (y (T, B, hidden), per-layer last states [(B, inner)]); parallel scan."""
        h = self.in_proj(x)  # (T, B, H)
        new_state = []
        for i, block in enumerate(self.blocks):
            h, last = block(h, None if state is None else state[i])
            new_state.append(last)
        return self.norm(h), new_state

    def step(self, x: torch.Tensor, state: list[torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One step of the recurrence: x (B, D) -> (y (B, hidden), new per-layer states)."""
        h = self.in_proj(x)  # (B, H)
        new_state = []
        for i, block in enumerate(self.blocks):
            h, last = block.step(h, None if state is None else state[i])
            new_state.append(last)
        return self.norm(h), new_state

    def forward_recurrent(self, x: torch.Tensor, state: list[torch.Tensor] | None = None
                          ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Same result as :meth:`forward`, computed step by step (x (T, B, D)); slow, serial."""
        ys = []
        for t in range(x.shape[0]):
            y, state = self.step(x[t], state)
            ys.append(y)
        return torch.stack(ys), state  # (T, B, hidden)
