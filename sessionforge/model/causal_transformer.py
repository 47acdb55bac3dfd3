"""Causal Transformer backbone: the time-parallel baseline for the integrator.

A plain decoder-only stack (pre-norm RMSNorm, rotary position embeddings, causal
multi-head attention, GELU MLP) over the per-step vectors. Its serial depth is
``layers`` whatever the sequence length: the property the recurrence benchmarks
test it on. It honours the integrator contract::

    y, state = CausalTransformer(input_dim, cfg)(x, state)   # x (T, B, D) -> y (T, B, hidden)

``state`` is a KV cache: a list with one ``(keys, values)`` pair per layer for the
steps seen so far. Keys are kept *before* the rotary embedding and positions are
counted from the first cached step (attention only sees relative positions, so a
sliding window needs no offset). Feeding a sequence in chunks with the returned
state gives the same outputs as one pass. The cache grows with every step: a caller that carries it
across many windows should pass ``max_context`` (a sliding window) or start each
window from ``state=None``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import IntegratorConfig


# Per layer, the keys (before rotary embedding) and values of the cached steps, each
# (B, heads, P, head_dim). Plain lists and tuples, so generic state helpers (detach,
# move to a device) handle it like the LSTM's list of (h, c).
KVCache = list[tuple[torch.Tensor, torch.Tensor]]


def rotary(x: torch.Tensor, pos0: int, base: float = 10000.0) -> torch.Tensor:
    """Rotate ``x`` (B, heads, T, d) by rotary position embeddings for positions pos0..pos0+T-1."""
    d = x.shape[-1]
    half = d // 2
    inv_freq = base ** (-torch.arange(0, half, device=x.device, dtype=torch.float32) / half)  # (d/2,)
    pos = torch.arange(pos0, pos0 + x.shape[-2], device=x.device, dtype=torch.float32)  # (T,)
    angles = pos[:, None] * inv_freq[None, :]  # (T, d/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]  # (B, h, T, d/2) each
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class _Block(nn.Module):
    """One pre-norm decoder block: causal self-attention then an MLP, both residual."""

    def __init__(self, hidden: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.RMSNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden, bias=False)
        self.proj = nn.Linear(hidden, hidden, bias=False)
        self.norm2 = nn.RMSNorm(hidden)
        self.ff1 = nn.Linear(hidden, ffn_mult * hidden)
        self.ff2 = nn.Linear(ffn_mult * hidden, hidden)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, T, H); past = cached (keys before rotary, values), each (B, heads, P, hd), or None.

        Returns the block output and the cache extended by these T steps.
        """
        b, t, h = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, h // self.heads)  # (B, T, 3, heads, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, heads, T, hd) each
        drop = self.dropout if self.training else 0.0
        if past is None:
            keys, values = k, v
            q, k = rotary(q, 0), rotary(k, 0)
            attn = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        else:
            keys = torch.cat([past[0], k], dim=2)  # (B, heads, P+T, hd)
            values = torch.cat([past[1], v], dim=2)
            p = keys.shape[2] - t
            q, k = rotary(q, p), rotary(keys, 0)
            # query i sits at cache position p+i and may see keys 0..p+i
            mask = torch.arange(t, device=x.device)[:, None] + p >= torch.arange(p + t, device=x.device)[None, :]
            attn = F.scaled_dot_product_attention(q, k, values, attn_mask=mask, dropout_p=drop)  # (B, heads, T, hd)
        x = x + F.dropout(self.proj(attn.transpose(1, 2).reshape(b, t, h)), drop)  # (B, T, H)
        x = x + F.dropout(self.ff2(F.gelu(self.ff1(self.norm2(x)))), drop)  # (B, T, H)
        return x, (keys, values)


class CausalTransformer(nn.Module):
    """Decoder-only causal Transformer with the integrator contract (see module docstring).

    Args:
        input_dim: width D of the per-step input vectors.
        cfg: ``hidden`` (model width), ``layers`` (depth), ``heads``, ``ffn_mult``, ``dropout``.
        max_context: if set, the returned cache keeps only the last ``max_context`` steps
            (sliding-window attention across chunks); None keeps everything.
    """

    def __init__(self, input_dim: int, cfg: IntegratorConfig, max_context: int | None = None) -> None:
        super().__init__()
        if cfg.hidden % cfg.heads:
            raise ValueError(f"integrator.hidden {cfg.hidden} is not divisible by integrator.heads {cfg.heads}")
        if (cfg.hidden // cfg.heads) % 2:
            raise ValueError(f"head width {cfg.hidden // cfg.heads} must be even for rotary embeddings")
        if cfg.layers < 1:
            raise ValueError("integrator.layers must be >= 1")
        self.hidden = cfg.hidden
        self.max_context = max_context
        self.in_proj = nn.Linear(input_dim, cfg.hidden)
        self.blocks = nn.ModuleList(
            _Block(cfg.hidden, cfg.heads, cfg.ffn_mult, cfg.dropout) for _ in range(cfg.layers)
        )
        self.norm = nn.RMSNorm(cfg.hidden)

    def forward(self, x: torch.Tensor, state: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """x (T, B, D) -> (y (T, B, hidden), cache including these T steps)."""
        h = self.in_proj(x).transpose(0, 1)  # (B, T, H)
        cache: KVCache = []
        for i, block in enumerate(self.blocks):
            h, (k, v) = block(h, None if not state else state[i])
            if self.max_context is not None and k.shape[2] > self.max_context:
                k, v = k[:, :, -self.max_context:], v[:, :, -self.max_context:]
            cache.append((k, v))
        return self.norm(h).transpose(0, 1), cache  # (T, B, H)
