"""Cell embedding: one vector per terminal cell, from everything a cell carries.

A cell is (code point, fg palette index, bg palette index, attribute bits); the frame
also has a cursor. The embedding is a sum of: a code point row (code points beyond
the configured vocabulary hashed into buckets, so rare CJK/emoji still get a stable
row), a linear map of the fg/bg RGB colours looked up in the session's palette (so
two palettes that draw the same colour give the same input), a linear map of the
attribute bits, learned row and column embeddings, and a learned cursor mark added
to the cursor's cell when it is visible.

Two implementations of the same sum (``embed.impl``): ``torch`` (gathers by index_select,
any device) and ``numba`` (CPU). The numba path returns a :class:`DeferredCells`: the
cells' integers and the tables, not one vector per cell. The frame head's pointwise patch
stem reads it directly; anything else materialises it with one compiled pass over the cells
(and one back for the gradient). Their values equal the torch path's (the same float
additions in the same order), their gradients up to summation order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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

    def forward(self, x: FrameInputs) -> "torch.Tensor | DeferredCells":
        """Embed every cell: (T*B, dim, R, C) channels-first; on the numba path a
        :class:`DeferredCells` (the frame head consumes it, or ``.materialize()`` gives the tensor)."""
        T, B, R, C = x.chars.shape
        if (R, C) != (self.rows, self.cols):
            raise ValueError(f"frames are {R}x{C}, the model expects {self.rows}x{self.cols}")
        if self.cfg.impl == "numba" and self._numba_ok(x):
            return self._deferred(x)
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

    def _numba_ok(self, x: FrameInputs) -> bool:
        """The numba path runs on CPU tensors of float32/float64 (else the torch path, same values)."""
        w = self.codepoint.weight
        return w.device.type == "cpu" and x.chars.device.type == "cpu" and w.dtype in (torch.float32, torch.float64)

    def _deferred(self, x: FrameInputs) -> "DeferredCells":
        """The inputs and tables of every cell's vector, computed as the torch path computes them."""
        T, B, R, C = x.chars.shape
        N, RC, D = T * B, R * C, self.cfg.dim
        pal = x.palette.to(self.colour.weight.dtype) / 255.0  # (B, P, 3)
        w_fg, w_bg = self.colour.weight[:, :3], self.colour.weight[:, 3:]  # (D, 3) each
        colour = torch.cat([pal @ w_fg.t() + self.colour.bias, pal @ w_bg.t()], dim=1).reshape(-1, D)  # (B*2P, D)
        bits = ((self._values[:, None] >> self._bits) & 1).to(colour.dtype)  # (128, 7)
        pos = (self.row.weight[:, None, :] + self.col.weight[None, :, :]).reshape(RC, D)  # (RC, D)
        cur = x.cursor.reshape(N, 3).long()
        inside = (cur[:, 0] >= 0) & (cur[:, 0] < R) & (cur[:, 1] >= 0) & (cur[:, 1] < C) & (cur[:, 2] != 0)
        flat = cur[:, 0].clamp(0, R - 1) * C + cur[:, 1].clamp(0, C - 1)  # (N,)
        # The kernels index tables without bounds checks: refuse what the torch path's gathers would.
        if pal.shape[1] < 256 or int(x.attrs.max()) >= 1 << ATTR_BITS or int(x.chars.min()) < 0:
            raise ValueError("cells out of range: a palette of fewer than 256 entries, attribute bits above "
                             f"{ATTR_BITS} or a negative code point")
        ints = CellInts(*(t.reshape(N, RC).contiguous() for t in (x.chars, x.fg, x.bg, x.attrs)),
                        torch.where(inside, flat, -1).contiguous(), R, C, B, pal.shape[1],
                        self.cfg.codepoints, self.cfg.hash_buckets)
        return DeferredCells(ints, (self.codepoint.weight, colour, self.attr(bits), pos, self.cursor))


@dataclass
class CellInts:
    """The integer inputs of the numba path, (N, R*C) per frame (N = T*B, t-major: frame n - B is
    the same stream's previous frame)."""

    chars: torch.Tensor  # (N, RC) int32/int64 code points
    fg: torch.Tensor  # (N, RC) uint8 palette index
    bg: torch.Tensor  # (N, RC) uint8
    attrs: torch.Tensor  # (N, RC) uint8 attribute bits
    cursor: torch.Tensor  # (N,) int64: the cursor's cell, -1 when hidden or off screen
    rows: int
    cols: int
    streams: int  # B: frame n uses stream n % B's palette rows
    palette: int  # P: palette entries per stream
    codepoints: int  # code points below this index their own row
    hash_buckets: int  # the rest hash into this many rows after them

    def arrays(self) -> tuple:
        """The leading kernel arguments: chars, fg, bg, attrs, cursor as numpy, then C, B, P, V, H."""
        return (self.chars.numpy(), self.fg.numpy(), self.bg.numpy(), self.attrs.numpy(), self.cursor.numpy(),
                self.cols, self.streams, self.palette, self.codepoints, self.hash_buckets)

    def words(self) -> tuple:
        """The cells as 64-bit words for comparing whole screen rows at once: (chars, fg, bg, attrs)
        uint64 views and the words per row of chars and of the byte planes; (empty, ..., 0, 0) when
        a row is not a whole number of words (the kernels then compare cell by cell)."""
        C = self.cols
        if C % 8 or any(t.dtype.itemsize not in (1, 4) for t in (self.chars, self.fg, self.bg, self.attrs)):
            empty = np.zeros((1, 1), np.uint64)
            return empty, empty, empty, empty, 0, 0
        planes = [t.numpy().view(np.uint64) for t in (self.chars, self.fg, self.bg, self.attrs)]
        return (*planes, C * self.chars.dtype.itemsize // 8, C // 8)


@dataclass
class DeferredCells:
    """Every cell's vector, not yet computed: the integers and the tables (code point (V+H, D),
    colour (B*2P, D), attribute (128, D), position (RC, D) rows and the cursor mark (D,)), each
    a tensor of the autograd graph. The frame head's pointwise patch stem reads it directly
    (:mod:`sessionforge.model.frame_head`); anything else calls :meth:`materialize`."""

    ints: CellInts
    tables: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

    @property
    def dim(self) -> int:
        """Channels per cell."""
        return self.tables[0].shape[1]

    def materialize(self) -> torch.Tensor:
        """(N, D, R, C), a channels-last view of the (N, R*C, D) cell rows; the torch path's values."""
        N, R, C = self.ints.chars.shape[0], self.ints.rows, self.ints.cols
        emb = _Cells.apply(self.ints, *self.tables)  # (N, RC, D)
        return emb.view(N, R, C, self.dim).permute(0, 3, 1, 2)


def _gather(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` (V, D) at ``index`` (...,) -> (..., D)."""
    return table.index_select(0, index.reshape(-1)).view(*index.shape, table.shape[1])


def numpy_of(*tensors: torch.Tensor, dtype: torch.dtype) -> list:
    """Contiguous ``dtype`` numpy views (or copies) of detached tensors, for the kernels."""
    return [t.detach().to(dtype).contiguous().numpy() for t in tensors]


class _Cells(torch.autograd.Function):
    """Every cell's vector from :class:`DeferredCells`, as an autograd function of its tables."""

    @staticmethod
    def forward(ctx, ints: CellInts, cp_tab, colour, attr, pos, mark) -> torch.Tensor:
        forward, _ = cell_kernels()
        N, RC = ints.chars.shape
        dtype = cp_tab.dtype
        out = torch.empty(N, RC, cp_tab.shape[1], dtype=dtype)  # (N, RC, D)
        forward(*ints.arrays(), *numpy_of(cp_tab, colour, attr, pos, dtype=dtype), out.numpy())
        # The cursor mark last, by the torch path's own operation (the same float addition).
        rows = (ints.cursor >= 0).nonzero().squeeze(1)
        out.index_put_((rows, ints.cursor[rows]), mark.detach().to(dtype).expand(len(rows), -1), accumulate=True)
        ctx.ints, ctx.rows = ints, rows
        ctx.shapes = [t.shape for t in (cp_tab, colour, attr)]
        ctx.dtypes = [t.dtype for t in (cp_tab, colour, attr, pos, mark)]
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # grad (N, RC, D)
        _, backward = cell_kernels()
        ints: CellInts = ctx.ints
        grad = grad.contiguous()
        g_cp, g_colour, g_attr = (torch.zeros(shape, dtype=grad.dtype) for shape in ctx.shapes)
        backward(*ints.arrays(), grad.numpy(), g_cp.numpy(), g_colour.numpy(), g_attr.numpy())
        g_pos = grad.sum(dim=0)  # (RC, D): the position rows are added to every frame
        g_mark = grad[ctx.rows, ints.cursor[ctx.rows]].sum(dim=0)  # (D,)
        grads = (g_cp, g_colour, g_attr, g_pos, g_mark)
        return (None, *(g.to(dt) for g, dt in zip(grads, ctx.dtypes)))


# ---- numba kernels --------------------------------------------------------------------------
# Plain Python functions, compiled on first use (:func:`jit`): importing the model never
# imports numba. Two shortcuts, both exact: cells that equal the same cells of the stream's
# previous frame (most of a screen: a key changes a cell or two) reuse that frame's result;
# a run of cells with the same (code point, fg, bg, attribute), such as the spaces that fill
# most of a screen, looks its rows up once. The float additions are the torch path's:
# ((cp + fg) + bg) + attr, then + pos (then + the cursor mark).


def same_cells(chars, fg, bg, attrs, n, m, k0, k1):
    """Whether cells [k0, k1) of frames n and m are equal."""
    for k in range(k0, k1):
        if chars[n, k] != chars[m, k] or fg[n, k] != fg[m, k] or bg[n, k] != bg[m, k] or attrs[n, k] != attrs[m, k]:
            return False
    return True


def same_rows(words, chars, fg, bg, attrs, n, m, C, out):
    """out[r] = whether screen row r of frames n and m is equal; ``words`` from
    :meth:`CellInts.words` (64 cells' bytes per compare where it can)."""
    c64, f64, b64, a64, wc, ws = words
    for r in range(out.shape[0]):
        if ws > 0:
            d = np.uint64(0)
            for w in range(r * wc, (r + 1) * wc):
                d |= c64[n, w] ^ c64[m, w]
            for w in range(r * ws, (r + 1) * ws):
                d |= (f64[n, w] ^ f64[m, w]) | (b64[n, w] ^ b64[m, w]) | (a64[n, w] ^ a64[m, w])
            out[r] = d == 0
        else:
            out[r] = same_cells(chars, fg, bg, attrs, n, m, r * C, (r + 1) * C)


def cell_rows(chars, fg, bg, attrs, n, k, B, P, V, H):
    """The code point, fg colour, bg colour and attribute rows of cell k of frame n."""
    cp = np.int64(chars[n, k])
    i = cp if cp < V else V + ((cp * 2654435761) % 4294967296) % H
    base = (n % B) * 2 * P
    return i, base + np.int64(fg[n, k]), base + P + np.int64(bg[n, k]), np.int64(attrs[n, k])


def _cells_forward(chars, fg, bg, attrs, cursor, C, B, P, V, H, cp_tab, colour, attr, pos, out):
    """out (N, RC, D) = every cell's vector but the cursor mark, screen row by screen row."""
    N, RC = chars.shape
    D = out.shape[2]
    acc = np.zeros(D, out.dtype)
    for n in range(N):
        for k0 in range(0, RC, C):
            if n >= B and same_cells(chars, fg, bg, attrs, n, n - B, k0, k0 + C):
                out[n, k0:k0 + C] = out[n - B, k0:k0 + C]
                continue
            last = (-1, -1, -1, -1)
            for k in range(k0, k0 + C):
                ids = cell_rows(chars, fg, bg, attrs, n, k, B, P, V, H)
                if ids != last:
                    i, f, b, a = ids
                    for d in range(D):
                        acc[d] = cp_tab[i, d] + colour[f, d] + colour[b, d] + attr[a, d]
                    last = ids
                for d in range(D):
                    out[n, k, d] = acc[d] + pos[k, d]


def scatter_cells(chars, fg, bg, attrs, n, k0, k1, B, P, V, H, g, g_cp, g_colour, g_attr):
    """Add g (k1-k0, D), the gradient of cells [k0, k1) of frame n, into the table rows they read;
    a run of cells that read the same rows adds its summed gradient once."""
    D = g.shape[1]
    run = np.zeros(D, g.dtype)
    last = cell_rows(chars, fg, bg, attrs, n, k0, B, P, V, H)
    for k in range(k0, k1 + 1):
        ids = cell_rows(chars, fg, bg, attrs, n, k, B, P, V, H) if k < k1 else (-2, -2, -2, -2)
        if ids != last:
            i, f, b, a = last
            for d in range(D):
                g_cp[i, d] += run[d]
                g_colour[f, d] += run[d]
                g_colour[b, d] += run[d]
                g_attr[a, d] += run[d]
                run[d] = 0.0
            last = ids
        if k < k1:
            for d in range(D):
                run[d] += g[k - k0, d]


def _cells_backward(chars, fg, bg, attrs, cursor, C, B, P, V, H, grad, g_cp, g_colour, g_attr):
    """Scatter grad (N, RC, D) into the code point, colour and attribute rows (zeroed by the
    caller). A screen row's gradients over a stretch of a stream's frames in which it stays the
    same are summed first and scattered once."""
    N, RC = chars.shape
    D = grad.shape[2]
    R, S = RC // C, min(B, N)
    pending = np.zeros((S, R, C, D), grad.dtype)  # per stream and row: the stretch's summed gradient
    source = np.full((S, R), -1, np.int64)  # the stretch's first frame
    for n in range(N + S):
        for r in range(R):
            s, k0 = n % B, r * C
            m = source[s, r]
            if n < N and m >= 0 and same_cells(chars, fg, bg, attrs, n, m, k0, k0 + C):
                pending[s, r] += grad[n, k0:k0 + C]
                continue
            if m >= 0:  # the stretch ends (n >= N: every stretch ends)
                scatter_cells(chars, fg, bg, attrs, m, k0, k0 + C, B, P, V, H, pending[s, r], g_cp, g_colour, g_attr)
                source[s, r] = -1
            if n < N:
                source[s, r] = n
                pending[s, r] = grad[n, k0:k0 + C]


HELPERS = ("same_cells", "same_rows", "cell_rows", "scatter_cells")  # called by kernels here and in frame_head
_CELL_KERNELS: tuple | None = None


def jit(namespace: dict, *names: str, helpers: tuple[str, ...] = ()) -> tuple:
    """Compile ``namespace[name]`` for each name with numba (cached on disk). First this module's
    :data:`HELPERS` (here and wherever ``namespace`` imported them) and ``namespace``'s own
    ``helpers`` are replaced by compiled versions: numba binds a kernel's calls to other
    functions when it compiles the kernel, and can only call compiled ones."""
    try:
        import numba
        from numba.core.dispatcher import Dispatcher
    except ImportError as exc:
        raise ImportError("model.embed.impl 'numba' needs numba (pip install 'sessionforge[train]'); "
                          "or --set model.embed.impl=torch") from exc
    compile_ = numba.njit(cache=True, nogil=True)
    here = globals()
    for name in HELPERS:
        if not isinstance(here[name], Dispatcher):
            here[name] = compile_(here[name])
        if name in namespace:
            namespace[name] = here[name]
    for name in helpers:
        if not isinstance(namespace[name], Dispatcher):
            namespace[name] = compile_(namespace[name])
    return tuple(compile_(namespace[name]) for name in names)


def cell_kernels() -> tuple:
    """(forward, backward) of :class:`_Cells`, compiled on first use."""
    global _CELL_KERNELS
    if _CELL_KERNELS is None:
        _CELL_KERNELS = jit(globals(), "_cells_forward", "_cells_backward")
    return _CELL_KERNELS
