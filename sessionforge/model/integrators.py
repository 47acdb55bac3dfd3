"""Integrators over time: the stacked LSTM (the point of FBAM) and the registry of backbones.

Contract shared with the baseline backbones: ``Cls(input_dim, cfg: IntegratorConfig)``,
``forward(x (T, B, D), state=None) -> (y (T, B, hidden), new_state)``. The LSTM's
state is a list of ``(h, c)`` per layer, each (B, H); ``None`` means zeros.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model import ops
from sessionforge.model.causal_transformer import CausalTransformer
from sessionforge.model.config import IntegratorConfig
from sessionforge.model.linear_rnn import GatedLinearRNN

LSTMState = list[tuple[torch.Tensor, torch.Tensor]]


class LSTMIntegrator(nn.Module):
    """Stacked unidirectional LSTM; each layer runs through :func:`ops.lstm`."""

    def __init__(self, input_dim: int, cfg: IntegratorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        dims = [input_dim] + [H] * (cfg.layers - 1)
        self.w_ih = nn.ParameterList(nn.Parameter(torch.empty(4 * H, d)) for d in dims)
        self.w_hh = nn.ParameterList(nn.Parameter(torch.empty(4 * H, H)) for _ in dims)
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(4 * H)) for _ in dims)
        bound = 1.0 / math.sqrt(H)  # torch.nn.LSTM's init
        for p in [*self.w_ih, *self.w_hh]:
            nn.init.uniform_(p, -bound, bound)
        for b in self.bias:
            b.data[H : 2 * H] = 1.0  # forget-gate bias 1: remember by default, eases long windows

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> LSTMState:
        """Zero (h, c) for every layer."""
        z = torch.zeros(batch, self.cfg.hidden, device=device, dtype=dtype)
        return [(z, z) for _ in range(self.cfg.layers)]

    def forward(self, x: torch.Tensor, state: LSTMState | None = None) -> tuple[torch.Tensor, LSTMState]:
        """x (T, B, D) -> y (T, B, H), new state."""
        if state is None:
            state = self.initial_state(x.shape[1], x.device, x.dtype)
        new_state: LSTMState = []
        for layer in range(self.cfg.layers):
            if layer > 0 and self.cfg.dropout > 0:
                x = F.dropout(x, self.cfg.dropout, self.training)
            h0, c0 = state[layer]
            x, (h, c) = ops.lstm(
                x, self.w_ih[layer], self.w_hh[layer], self.bias[layer], h0, c0, impl=self.cfg.lstm_impl
            )  # (T, B, H)
            new_state.append((h, c))
        return x, new_state


# kind -> class: the one list of backbones (the recurrence benchmark's choices come from here).
# The baselines are plain torch modules that import only model.config, so there is no cycle.
REGISTRY: dict[str, type[nn.Module]] = {
    "lstm": LSTMIntegrator,
    "transformer": CausalTransformer,
    "linear-rnn": GatedLinearRNN,
}


def build_integrator(input_dim: int, cfg: IntegratorConfig) -> nn.Module:
    """Construct the integrator named by ``cfg.kind``."""
    cls = REGISTRY.get(cfg.kind)
    if cls is None:
        raise ValueError(f"unknown integrator kind {cfg.kind!r} (known: {', '.join(REGISTRY)})")
    return cls(input_dim, cfg)


def state_tensors(state: object) -> list[torch.Tensor]:
    """Flatten any backbone state (nested lists/tuples/dicts of tensors, or None) to a tensor list."""
    if state is None:
        return []
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, dict):
        return [t for k in sorted(state) for t in state_tensors(state[k])]
    if isinstance(state, (list, tuple)):
        return [t for s in state for t in state_tensors(s)]
    raise TypeError(f"unsupported state type {type(state).__name__}")


def map_state(state: object, fn) -> object:
    """Apply ``fn`` to every tensor of a nested state, keeping its structure."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, dict):
        return {k: map_state(v, fn) for k, v in state.items()}
    if isinstance(state, tuple):
        return tuple(map_state(s, fn) for s in state)
    if isinstance(state, list):
        return [map_state(s, fn) for s in state]
    raise TypeError(f"unsupported state type {type(state).__name__}")
