"""Frame vectors for a rollout, one frame at a time, recomputing only what a key changed.

The debug model's frame head costs ~5 ms a frame on one CPU core, most of it in the cell
embedding and the first conv block over all 48x160 cells, while a key changes a handful of
cells (the typed character, the status line's digits, the cursor). Both stages are local:
a cell's embedding depends on that cell alone, and a conv block's output (conv with a
reach of ``padding`` cells, per-position RMSNorm, GELU, 2x2 average pool) on a small
neighbourhood of its input. So :class:`FrameEncoder` keeps every level's map and, for each
new frame, recomputes the changed cells, then each block's output over the pooled
rectangles their neighbourhoods cover. Only the Transformer over the last level's tokens
(a few hundred numbers) runs whole. A frame that changes more than a quarter of its cells
(a scroll, a page jump, an open) is computed whole.

It reads the model's own parameters and calls its modules, mirroring ``FrameHead.forward``
and ``CellEmbedding``'s sum. That mirror is checked on the hand-over frame against the
model's own ``embed_frames``; if they differ (a model changed since this was written), the
encoder says why (:attr:`FrameEncoder.reason`) and runs the model's frame head on every
frame instead, the same numbers at the full cost.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sessionforge.model.embedding import ATTR_BITS, FrameInputs
from sessionforge.model.fbam import FBAM

Rect = tuple[int, int, int, int]  # rows [r0, r1) x cols [c0, c1)
FULL_SHARE = 0.25  # recompute a frame whole when more than this share of its cells changed
TOLERANCE = 1e-4  # |mirror - model| allowed on the check frame, relative to the vector's scale


def frame_inputs(chars: np.ndarray, fg: np.ndarray, bg: np.ndarray, attrs: np.ndarray,
                 cursor: Sequence[int], palette: torch.Tensor) -> FrameInputs:
    """One frame's planes (R, C) as FrameInputs (1, 1, R, C), as the loader hands frames over."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))[None, None]  # noqa: E731  (1, 1, R, C)
    cur = torch.tensor([[[int(cursor[0]), int(cursor[1]), int(bool(cursor[2]))]]], dtype=torch.int32)  # (1, 1, 3)
    return FrameInputs(t(chars.view(np.int32)), t(fg), t(bg), t(attrs), cur, palette)


def _merge(rects: list[Rect]) -> list[Rect]:
    """Merge rectangles that overlap or touch until none do (few rectangles: quadratic is fine)."""
    out = sorted(rects)
    changed = True
    while changed:
        changed = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]:
                    out[i] = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    changed = True
                    break
            if changed:
                break
    return out


class FrameEncoder:
    """Frame vectors (out_dim,) of consecutive frames of one stream; see the module doc."""

    def __init__(self, model: FBAM, palette: np.ndarray, incremental: bool = True) -> None:
        self.model = model
        self.dtype = next(model.parameters()).dtype
        self.palette = torch.from_numpy(np.ascontiguousarray(palette))[None]  # (1, 256, 3)
        self.rows, self.cols = model.cfg.rows, model.cfg.cols
        self.reason: str | None = None if incremental else "turned off"
        self.full_frames = 0  # frames computed whole (the first, and large changes)
        self.partial_frames = 0
        self._cursor: tuple[int, int, bool] | None = None
        fh = model.frame_head
        self.patch = fh.cfg.patch
        self.halos: list[int] = []
        for blk in fh.convs:
            conv = getattr(blk, "conv", None)
            k, d = (conv.kernel_size[0], conv.dilation[0]) if conv is not None else (0, 0)
            if (conv is None or not hasattr(blk, "norm") or conv.stride != (1, 1) or conv.groups != 1
                    or conv.padding != (d * (k - 1) // 2,) * 2 or conv.kernel_size != (k, k)):
                self.reason = "a conv block this encoder does not know"
            self.halos.append(d * (k - 1) // 2 if conv is not None else 0)
        if self.rows % self.patch or self.cols % self.patch:
            self.reason = "rows or cols not divisible by the patch"
        if self.reason is None:
            self._tables()

    # ------------------------------------------------------------------ cell embedding
    @torch.no_grad()
    def _tables(self) -> None:
        """The embedding's per-cell addends, as CellEmbedding's torch path computes them."""
        emb = self.model.cells
        pal = self.palette.to(self.dtype) / 255.0  # (1, P, 3)
        w_fg, w_bg = emb.colour.weight[:, :3], emb.colour.weight[:, 3:]  # (D, 3) each
        self.fg_rows = (pal @ w_fg.t() + emb.colour.bias)[0]  # (P, D)
        self.bg_rows = (pal @ w_bg.t())[0]  # (P, D)
        values = torch.arange(1 << ATTR_BITS)
        bits = ((values[:, None] >> torch.arange(ATTR_BITS)) & 1).to(self.dtype)  # (128, 7)
        self.attr_rows = emb.attr(bits)  # (128, D)
        self.pos = emb.row.weight[:, None, :] + emb.col.weight[None, :, :]  # (R, C, D)

    def _cells(self, planes: tuple[np.ndarray, ...], r: np.ndarray, c: np.ndarray) -> torch.Tensor:
        """Embedding (n, D) of cells (r, c), without the cursor mark; the sum in CellEmbedding's order."""
        chars, fg, bg, attrs = planes
        emb = self.model.cells
        ids = emb.codepoint_ids(torch.from_numpy(chars[r, c].astype(np.int64)))  # (n,)
        v = emb.codepoint.weight[ids]  # (n, D)
        v = v + self.fg_rows[torch.from_numpy(fg[r, c].astype(np.int64))] \
            + self.bg_rows[torch.from_numpy(bg[r, c].astype(np.int64))]
        v = v + self.attr_rows[torch.from_numpy(attrs[r, c].astype(np.int64))]
        return v + self.pos[torch.from_numpy(r), torch.from_numpy(c)]  # (n, D)

    # ------------------------------------------------------------------ public
    @torch.no_grad()
    def start(self, planes: tuple[np.ndarray, ...], cursor: Sequence[int]) -> torch.Tensor:
        """The first frame's vector (out_dim,): the model's own, with which the mirror is checked
        (see the module doc)."""
        model_vec = self._model_vector(planes, cursor)
        if self.reason is None:
            mine = self._full(planes, cursor)
            scale = float(model_vec.abs().max()) or 1.0
            err = float((mine - model_vec).abs().max())
            if not math.isfinite(err) or err > TOLERANCE * scale:
                self.reason = f"its mirror of the frame head differs from the model's by {err:.3g}"
        self.full_frames += 1
        return model_vec

    @torch.no_grad()
    def encode(self, planes: tuple[np.ndarray, ...], cursor: Sequence[int],
               spans: Sequence[tuple[int, int, int]]) -> torch.Tensor:
        """The vector (out_dim,) of the next frame; ``spans`` (row, col_start, col_stop) cover every
        cell that changed since the previous frame (the terminal's snapshot gives them)."""
        if self.reason is not None:
            self.full_frames += 1
            return self._model_vector(planes, cursor)
        cur = (int(cursor[0]), int(cursor[1]), bool(cursor[2]))
        rects = [(y, y + 1, lo, hi) for y, lo, hi in spans if hi > lo]
        if sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in rects) > FULL_SHARE * self.rows * self.cols:
            self.full_frames += 1
            return self._full(planes, cur)
        self.partial_frames += 1
        return self._partial(planes, cur, rects)

    # ------------------------------------------------------------------ internals
    def _model_vector(self, planes: tuple[np.ndarray, ...], cursor: Sequence[int]) -> torch.Tensor:
        x = frame_inputs(*planes, cursor, self.palette)
        return self.model.embed_frames(x).reshape(-1)  # (out_dim,)

    def _full(self, planes: tuple[np.ndarray, ...], cursor: Sequence[int]) -> torch.Tensor:
        R, C = self.rows, self.cols
        r, c = np.divmod(np.arange(R * C), C)
        cells = self._cells(planes, r, c).t().reshape(1, -1, R, C)  # (1, D, R, C)
        self._levels = []
        x = F.pixel_unshuffle(cells, self.patch) if self.patch > 1 else cells  # (1, D*p*p, R/p, C/p)
        for h in [*self.halos, 0]:
            self._levels.append(F.pad(x, (h, h, h, h)) if h else x.clone())  # (1, c, H+2h, W+2h)
            if len(self._levels) <= len(self.halos):
                x = self._block(len(self._levels) - 1, 0, x.shape[2] // 2, 0, x.shape[3] // 2)
        self._cell_map = cells
        self._cursor = (-1, -1, False)  # no mark anywhere yet: _partial puts it on the cursor's cell
        self._tail()
        return self._partial(planes, (int(cursor[0]), int(cursor[1]), bool(cursor[2])), [])

    def _partial(self, planes: tuple[np.ndarray, ...], cur: tuple[int, int, bool], rects: list[Rect]) -> torch.Tensor:
        """Recompute the cells of ``rects`` (and the cursor's old and new cells), then every level above them."""
        R, C, p = self.rows, self.cols, self.patch
        cells = self._cell_map
        if cur != self._cursor:  # the mark leaves one cell and lands on another
            rects = rects + [(y, y + 1, x, x + 1) for y, x, _ in (self._cursor, cur) if 0 <= y < R and 0 <= x < C]
            self._cursor = cur
        rects = _merge(rects)
        if not rects:
            return self._vector
        idx = np.array([(y, x) for r0, r1, c0, c1 in rects for y in range(r0, r1) for x in range(c0, c1)])  # (n, 2)
        cells[0, :, idx[:, 0], idx[:, 1]] = self._cells(planes, idx[:, 0], idx[:, 1]).t()
        y, x, visible = cur
        if visible and any(r0 <= y < r1 and c0 <= x < c1 for r0, r1, c0, c1 in rects):
            cells[0, :, y, x] += self.model.cells.cursor  # the mark, added last as CellEmbedding adds it
        # Level 0 is the (folded) cell map inside the first block's halo.
        h0 = self.halos[0] if self.halos else 0
        level_rects = []
        for r0, r1, c0, c1 in rects:
            a, b, c, d = r0 // p, -(-r1 // p), c0 // p, -(-c1 // p)
            src = cells[:, :, a * p:b * p, c * p:d * p]
            self._levels[0][:, :, h0 + a:h0 + b, h0 + c:h0 + d] = F.pixel_unshuffle(src, p) if p > 1 else src
            level_rects.append((a, b, c, d))
        for k, h in enumerate(self.halos):
            H, W = self._levels[k].shape[2] - 2 * h, self._levels[k].shape[3] - 2 * h
            out = []
            for r0, r1, c0, c1 in _merge(level_rects):
                # Conv output rows r0-h .. r1+h-1 read a changed input; pooled row of output row y: y // 2.
                a, b = max(0, r0 - h) // 2, min(H // 2, -(-(r1 + h) // 2))
                c, d = max(0, c0 - h) // 2, min(W // 2, -(-(c1 + h) // 2))
                if b > a and d > c:
                    out.append((a, b, c, d))
            level_rects = _merge(out)
            for a, b, c, d in level_rects:
                self._block(k, a, b, c, d)
        return self._tail()

    def _block(self, k: int, a: int, b: int, c: int, d: int) -> torch.Tensor:
        """Block k's output over pooled rows [a, b) x cols [c, d), written into level k+1."""
        blk, h = self.model.frame_head.convs[k], self.halos[k]
        src = self._levels[k][:, :, 2 * a:2 * b + 2 * h, 2 * c:2 * d + 2 * h]  # the padded input it reads
        y = F.conv2d(src, blk.conv.weight, blk.conv.bias, dilation=blk.conv.dilation)  # (1, c, 2(b-a), 2(d-c))
        y = F.avg_pool2d(F.gelu(blk.norm(y)), 2)  # (1, c, b-a, d-c): ConvBlock.forward after its conv
        if k + 1 < len(self._levels):
            h1 = self.halos[k + 1] if k + 1 < len(self.halos) else 0
            self._levels[k + 1][:, :, h1 + a:h1 + b, h1 + c:h1 + d] = y
        return y

    def _tail(self) -> torch.Tensor:
        """FrameHead.forward after its conv blocks: tokens, Transformer, pool, output."""
        fh = self.model.frame_head
        x = self._levels[-1]  # (1, c, H, W)
        x = fh.lift(x.flatten(2).transpose(1, 2)) + fh.pos  # (1, S, width)
        if fh.cls is not None:
            x = torch.cat([fh.cls.expand(1, 1, -1), x], dim=1)  # (1, 1+S, width)
        for block in fh.blocks:
            x = block(x)
        x = fh.norm(x)
        pooled = x[:, 0] if fh.cls is not None else x.mean(dim=1)  # (1, width)
        self._vector = fh.out_norm(fh.out(pooled)).reshape(-1)  # (out_dim,)
        return self._vector


__all__ = ["FrameEncoder", "frame_inputs"]
