"""Cell embedding: one vector per terminal cell, from everything a cell carries.

A cell is (code point, fg palette index, bg palette index, attribute bits); the frame
also has a cursor. The embedding is a sum of: a code point row (code points beyond
the configured vocabulary hashed into buckets, so rare CJK/emoji still get a stable
row), a linear map of the fg/bg RGB colours looked up in the session's palette (so
two palettes that draw the same colour give the same input), a linear map of the
attribute bits, learned row and column embeddings, and a learned cursor mark added
to the cursor's cell when it is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import EmbeddingConfig

ATTR_BITS = 7  # bold, italic, underline, strike, reverse, blink, wide (formats' ATTR_* constants)
PALETTE_SIZE = 256
_HASH_MUL = 2654435761  # Knuth's multiplicative hash: spreads nearby code points over buckets


@dataclass
class FrameInputs:
    """A batch of frames as tensors, leading dims (T, B).

    chars (T, B, R, C) int32/int64 code points; fg, bg (T, B, R, C) uint8 palette indices;
    attrs (T, B, R, C) uint8 bits; cursor (T, B, 3) int [row, col, visible];
    palette (B, 256, 3) uint8 RGB (one palette per stream: a window never crosses sessions).
    """

    chars: torch.Tensor
    fg: torch.Tensor
    bg: torch.Tensor
    attrs: torch.Tensor
    cursor: torch.Tensor
    palette: torch.Tensor

    @property
    def steps(self) -> int:
        """Number of time steps T."""
        return self.chars.shape[0]

    def slice(self, t0: int, t1: int) -> "FrameInputs":
        """Time steps [t0, t1) (views, no copy)."""
        return FrameInputs(
            self.chars[t0:t1], self.fg[t0:t1], self.bg[t0:t1], self.attrs[t0:t1], self.cursor[t0:t1], self.palette
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "FrameInputs":
        """Move every tensor to ``device``."""
        return FrameInputs(*(t.to(device, non_blocking=non_blocking) for t in (
            self.chars, self.fg, self.bg, self.attrs, self.cursor, self.palette)))


class CellEmbedding(nn.Module):
    """Maps FrameInputs (T, B, R, C) to cell vectors (T*B, dim, R, C) for the conv stack."""

    def __init__(self, rows: int, cols: int, cfg: EmbeddingConfig) -> None:
        super().__init__()
        self.rows, self.cols, self.cfg = rows, cols, cfg
        self.codepoint = nn.Embedding(cfg.codepoints + cfg.hash_buckets, cfg.dim)
        self.colour = nn.Linear(6, cfg.dim)
        self.attr = nn.Linear(ATTR_BITS, cfg.dim, bias=False)
        self.row = nn.Embedding(rows, cfg.dim)
        self.col = nn.Embedding(cols, cfg.dim)
        self.cursor = nn.Parameter(torch.zeros(cfg.dim))
        # Unit-scale rows: the code point and the cursor must not drown under the colour
        # and position terms (the conv blocks normalise the sum anyway).
        nn.init.normal_(self.codepoint.weight, std=1.0)
        nn.init.normal_(self.row.weight, std=0.3)
        nn.init.normal_(self.col.weight, std=0.3)
        nn.init.normal_(self.cursor, std=1.0)
        self.register_buffer("_bits", torch.arange(ATTR_BITS, dtype=torch.int64), persistent=False)
        self.register_buffer("_values", torch.arange(1 << ATTR_BITS, dtype=torch.int64), persistent=False)

    def codepoint_ids(self, chars: torch.Tensor) -> torch.Tensor:
        """Row index per code point: itself below the vocabulary, else a hashed bucket."""
        cp = chars.long()
        hashed = self.cfg.codepoints + (cp * _HASH_MUL % (1 << 32)) % self.cfg.hash_buckets
        return torch.where(cp < self.cfg.codepoints, cp, hashed)

    def forward(self, x: FrameInputs) -> torch.Tensor:
        """Embed every cell; returns (T*B, dim, R, C) channels-first."""
        T, B, R, C = x.chars.shape
        if (R, C) != (self.rows, self.cols):
            raise ValueError(f"frames are {R}x{C}, the model expects {self.rows}x{self.cols}")
        N, RC = T * B, R * C
        # Gathers by index_select: the same values as F.embedding, but its backward is an
        # index_add, ~5x cheaper on a CPU than embedding's sort-based dense backward (which
        # was a quarter of the debug model's step at 7,680 cells per frame).
        emb = _gather(self.codepoint.weight, self.codepoint_ids(x.chars.reshape(N, RC)))  # (N, RC, D)
        # Colours: the linear map of [fg RGB, bg RGB] splits into a per-palette-entry
        # table for fg and one for bg, so each cell is two row gathers, not a matmul.
        D = self.cfg.dim
        pal = x.palette.to(self.colour.weight.dtype) / 255.0  # (B, P, 3)
        w_fg, w_bg = self.colour.weight[:, :3], self.colour.weight[:, 3:]  # (D, 3) each
        table = torch.cat([pal @ w_fg.t() + self.colour.bias, pal @ w_bg.t()], dim=1)  # (B, 2P, D)
        P = pal.shape[1]
        stream = torch.arange(B, device=emb.device).repeat(T).view(N, 1) * (2 * P)  # frame n is stream n % B
        fg = x.fg.reshape(N, RC).long() + stream
        bg = x.bg.reshape(N, RC).long() + stream + P
        flat_table = table.reshape(B * 2 * P, D)
        emb = emb + _gather(flat_table, fg) + _gather(flat_table, bg)
        # Attributes: 7 bits -> 128 possible values; a table of their linear images.
        bits = ((self._values[:, None] >> self._bits) & 1).to(emb.dtype)  # (128, 7)
        emb = emb + _gather(self.attr(bits), x.attrs.reshape(N, RC).long())
        pos = (self.row.weight[:, None, :] + self.col.weight[None, :, :]).reshape(RC, D)  # (RC, D)
        emb = emb + pos
        # Cursor: add the mark at the cursor's cell when it is visible and on screen.
        cur = x.cursor.reshape(N, 3).long()
        inside = (cur[:, 0] >= 0) & (cur[:, 0] < R) & (cur[:, 1] >= 0) & (cur[:, 1] < C) & (cur[:, 2] != 0)
        flat = cur[:, 0].clamp(0, R - 1) * C + cur[:, 1].clamp(0, C - 1)  # (N,)
        mark = inside.to(emb.dtype)[:, None] * self.cursor  # (N, D)
        emb = emb.index_put((torch.arange(N, device=emb.device), flat), mark, accumulate=True)  # (N, RC, D)
        return emb.transpose(1, 2).reshape(N, -1, R, C)  # (N, D, R, C)


def _gather(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` (V, D) at ``index`` (...,) -> (..., D)."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[1])
