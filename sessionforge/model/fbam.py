"""FBAM: frame head (parallel over time) -> integrator (serial in time) -> action head.

The three stages are exposed separately because streaming BPTT
(:mod:`sessionforge.train.bptt`) runs them at different times: the frame head
chunk by chunk without a graph, the integrator over the whole window, then both
again with a graph in the backward pass. ``forward`` is the plain composition.
"""

from __future__ import annotations

import torch
from torch import nn

from sessionforge.model.config import ModelConfig
from sessionforge.model.embedding import CellEmbedding, FrameInputs
from sessionforge.model.frame_head import FrameHead
from sessionforge.model.integrators import build_integrator


class FBAM(nn.Module):
    """Frame-based action model; ``vocab_size`` comes from the action tokenizer."""

    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.cells = CellEmbedding(cfg.rows, cfg.cols, cfg.embed)
        self.frame_head = FrameHead(cfg.rows, cfg.cols, cfg.embed.dim, cfg.frame_head)
        self.integrator = build_integrator(cfg.frame_head.out_dim, cfg.integrator)
        self.head = nn.Linear(cfg.integrator.hidden, vocab_size)

    def embed_frames(self, x: FrameInputs) -> torch.Tensor:
        """Frames (T, B, R, C) -> frame vectors (T, B, D)."""
        T, B = x.chars.shape[:2]
        return self.frame_head(self.cells(x)).view(T, B, -1)  # (T, B, D)

    def integrate(self, e: torch.Tensor, state: object = None) -> tuple[torch.Tensor, object]:
        """Frame vectors (T, B, D) -> integrator outputs (T, B, H), new state."""
        return self.integrator(e, state)

    def logits(self, y: torch.Tensor) -> torch.Tensor:
        """Integrator outputs (..., H) -> action logits (..., V)."""
        return self.head(y)

    def forward(self, x: FrameInputs, state: object = None) -> tuple[torch.Tensor, object]:
        """Frames (T, B, R, C) -> logits (T, B, V), new state. Holds the whole graph: short windows only."""
        y, state = self.integrate(self.embed_frames(x), state)
        return self.logits(y), state


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (works on the meta device: no memory is touched)."""
    return sum(p.numel() for p in model.parameters())
