"""Frame head: one terminal screen -> one vector, with attention only inside the frame.

Conv blocks (3x3, dilation 2, RMSNorm, GELU, 2x2 average pool) shrink the cell grid
(48x160 -> 12x40 = 480 tokens with two blocks); a linear map lifts the channels to
the Transformer width; bidirectional Transformer blocks mix the tokens of one frame;
a mean (or CLS) pool gives the frame vector. No attention crosses frames: all time
mixing is the integrator's job, so the head runs in parallel over (T*B) frames.

With ``patch`` p > 1 and ``kernel`` 1, the first block is a patch embedding: a linear map of
each p x p patch's cell vectors. On the numba cell path (``embed.impl: numba``) it is
computed straight from the cells' integers and tables (:func:`patch_stem`), without ever
holding one vector per cell: a patch equal to the same patch of the stream's previous frame
(almost every patch: a key changes a cell or two) copies its result forward, and its
gradient is summed over the stretch and pushed back once.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import FrameHeadConfig
from sessionforge.model.embedding import DeferredCells, cell_rows, jit, numpy_of, same_cells, same_rows, scatter_cells


def fold(cells: torch.Tensor, p: int) -> torch.Tensor:
    """``F.pixel_unshuffle(cells, p)`` (channel d*p*p + i*p + j of position (h, w) is cell
    (h*p + i, w*p + j)'s channel d), as one strided copy: the same values, ~2x cheaper on a
    CPU than pixel_unshuffle's kernel. (N, D, R, C) -> (N, D*p*p, R/p, C/p), contiguous."""
    if p == 1:
        return cells
    N, D, R, C = cells.shape
    x = cells.reshape(N, D, R // p, p, C // p, p).permute(0, 1, 3, 5, 2, 4)  # (N, D, p, p, R/p, C/p)
    return x.reshape(N, D * p * p, R // p, C // p)


def fold_rows(cells: torch.Tensor, p: int) -> torch.Tensor:
    """The fold channels-last, in cell-major channel order: (N, D, R, C) -> (N, R/p, C/p, p*p*D),
    channel (i*p + j)*D + d of position (h, w) = cell (h*p + i, w*p + j)'s channel d. Each
    (i, row of p cells) is then one contiguous run of p*D values of a channels-last input
    (the numba cell path's), so the copy moves runs, not single values (~3x cheaper than
    :func:`fold`'s order). :func:`fold_weight` puts a weight written for :func:`fold`'s
    order into this one."""
    N, D, R, C = cells.shape
    rows = cells.permute(0, 2, 3, 1).reshape(N, R // p, p, C // p, p * D)  # a view when channels-last
    return rows.permute(0, 1, 3, 2, 4).reshape(N, R // p, C // p, p * p * D)  # (N, H, W, p*p*D)


def fold_weight(w: torch.Tensor, cell_dim: int, p: int) -> torch.Tensor:
    """A 1x1 conv weight (Cout, D*p*p, 1, 1) over :func:`fold`'s channels -> the (Cout, p*p*D)
    matrix over :func:`fold_rows`' channels (the same map)."""
    cout = w.shape[0]
    return w.view(cout, cell_dim, p, p).permute(0, 2, 3, 1).reshape(cout, p * p * cell_dim)


class ChannelRMSNorm(nn.Module):
    """RMSNorm over the channel dim of a (N, C, H, W) map."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        rms = torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)
        return x * rms * self.weight[None, :, None, None]


class ConvBlock(nn.Module):
    """Conv (3x3 dilation 2, or 1x1), RMSNorm, GELU, 2x2 average pool: halves H and W."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        # padding 2 keeps H, W: a dilated 3x3 reaches two cells away on each side.
        if kernel == 3:
            self.conv = nn.Conv2d(cin, cout, kernel_size=3, dilation=2, padding=2)
        else:
            self.conv = nn.Conv2d(cin, cout, kernel_size=1)
        self.norm = ChannelRMSNorm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, Cin, H, W) -> (N, Cout, H/2, W/2)."""
        return F.avg_pool2d(F.gelu(self.norm(self.conv(x))), 2)

    def forward_rows(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """A 1x1 block channels-last: (N, H, W, Cin) -> (N, H/2, W/2, Cout). The conv is a matmul
        over the channels (a CPU's 1x1 convolution of few positions and many channels runs
        several times slower); norm, GELU and pool as :meth:`forward` computes them.
        ``weight``: the conv weight as a (Cout, Cin) matrix in ``x``'s channel order (default: as stored)."""
        w = self.conv.weight  # (Cout, Cin, 1, 1)
        y = F.linear(x, w.view(w.shape[0], w.shape[1]) if weight is None else weight, self.conv.bias)  # (N, H, W, Cout)
        return self.finish_rows(y)

    def finish_rows(self, y: torch.Tensor) -> torch.Tensor:
        """Norm, GELU and pool of the conv's output channels-last: (N, H, W, Cout) -> (N, H/2, W/2, Cout)."""
        y = y * torch.rsqrt(y.pow(2).mean(dim=-1, keepdim=True) + self.norm.eps) * self.norm.weight
        return F.avg_pool2d(F.gelu(y).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)  # (N, H/2, W/2, Cout)


class EncoderBlock(nn.Module):
    """Pre-norm bidirectional Transformer block (no mask: every token sees the whole frame)."""

    def __init__(self, width: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.RMSNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.RMSNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn_mult * width), nn.GELU(), nn.Linear(ffn_mult * width, width))
        self.drop = nn.Dropout(dropout)
        # Residual branches start at zero: each block begins as the identity, so the
        # small frame-to-frame differences (often one cell) survive into the frame
        # vector instead of being drowned by a branch that first learns a constant.
        for lin in (self.proj, self.ffn[2]):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, S, W) -> (N, S, W)."""
        N, S, W = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(N, S, 3, self.heads, W // self.heads).unbind(2)  # (N, S, h, d)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))  # (N, h, S, d)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(N, S, W)))
        return x + self.drop(self.ffn(self.norm2(x)))


class FrameHead(nn.Module):
    """(N, D_cell, R, C) cell map -> (N, out_dim) frame vectors."""

    def __init__(self, rows: int, cols: int, cell_dim: int, cfg: FrameHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        chans = [cell_dim * cfg.patch**2, *cfg.conv_channels]
        self.convs = nn.ModuleList(ConvBlock(a, b, cfg.kernel) for a, b in zip(chans[:-1], chans[1:]))
        factor = cfg.patch * 2 ** len(cfg.conv_channels)
        tokens = (rows // factor) * (cols // factor)
        self.lift = nn.Linear(chans[-1], cfg.width)
        self.pos = nn.Parameter(torch.randn(tokens, cfg.width) * 0.02)
        self.cls = nn.Parameter(torch.randn(cfg.width) * 0.02) if cfg.pool == "cls" else None
        self.blocks = nn.ModuleList(
            EncoderBlock(cfg.width, cfg.heads, cfg.ffn_mult, cfg.dropout) for _ in range(cfg.blocks)
        )
        self.norm = nn.RMSNorm(cfg.width)
        self.out = nn.Linear(cfg.width, cfg.out_dim)
        # Consecutive frames often differ in one cell, so the frame vector is a large
        # constant part plus a small varying one; centring and scaling it helps the
        # integrator see the varying part early in training.
        self.out_norm = nn.LayerNorm(cfg.out_dim) if cfg.out_norm else nn.Identity()

    def forward(self, cells: torch.Tensor | DeferredCells) -> torch.Tensor:
        """(N, D_cell, R, C) cell vectors (or the numba path's :class:`DeferredCells`) -> (N, out_dim)."""
        x = self.tokens(cells)  # (N, S, width)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)  # (N, 1+S, width)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        pooled = x[:, 0] if self.cls is not None else x.mean(dim=1)  # (N, width)
        return self.out_norm(self.out(pooled))  # (N, out_dim)

    def tokens(self, cells: torch.Tensor | DeferredCells) -> torch.Tensor:
        """The conv blocks and the lift: cells -> (N, S, width) tokens in row-major order, plus positions."""
        p = self.cfg.patch
        if self.cfg.kernel == 3:
            x = fold(cells.materialize() if isinstance(cells, DeferredCells) else cells, p)  # (N, D_cell*p*p, R/p, C/p)
            for conv in self.convs:
                x = conv(x)  # (N, c, H/2, W/2)
            return self.lift(x.flatten(2).transpose(1, 2)) + self.pos  # (N, S, width)
        # Pointwise blocks: channels-last throughout, the first one a patch embedding.
        first = self.convs[0]
        if isinstance(cells, DeferredCells) and p > 1:
            w = fold_weight(first.conv.weight, cells.dim, p)  # (Cout, p*p*D) over (i, j, d)
            y = patch_stem(cells, w, first.conv.bias, p)  # (N, R/p, C/p, Cout)
        else:
            cells = cells.materialize() if isinstance(cells, DeferredCells) else cells
            w = fold_weight(first.conv.weight, cells.shape[1], p)
            y = F.linear(fold_rows(cells, p), w, first.conv.bias)  # (N, R/p, C/p, Cout)
        x = first.finish_rows(y)  # (N, H/2, W/2, c)
        for conv in self.convs[1:]:
            x = conv.forward_rows(x)  # (N, H/2, W/2, c)
        return self.lift(x.flatten(1, 2)) + self.pos  # (N, S, width)


# ---- the patch stem on the numba cell path --------------------------------------------------


def patch_stem(cells: DeferredCells, weight: torch.Tensor, bias: torch.Tensor, p: int) -> torch.Tensor:
    """``F.linear(fold_rows(cells.materialize(), p), weight, bias)`` without the per-cell vectors:
    (N, R/p, C/p, Cout) from the cells' integers and tables; ``weight`` (Cout, p*p*D) over
    :func:`fold_rows`' channel order. The same values up to float summation order."""
    return _PatchStem.apply(cells.ints, p, *cells.tables, weight, bias)


class _PatchStem(torch.autograd.Function):
    """:func:`patch_stem` as an autograd function of the cell tables, the weight and the bias."""

    @staticmethod
    def forward(ctx, ints, p: int, cp_tab, colour, attr, pos, mark, weight, bias) -> torch.Tensor:
        forward, _ = _stem_kernels()
        dtype = cp_tab.dtype
        N, R, C = ints.chars.shape[0], ints.rows, ints.cols
        out = torch.empty(N, R // p, C // p, weight.shape[0], dtype=dtype)  # (N, R/p, C/p, Cout)
        arrays = numpy_of(cp_tab, colour, attr, pos, mark, weight, dtype=dtype)  # weight (Cout, p*p*D)
        wt, b = numpy_of(weight.t(), bias, dtype=dtype)
        forward(*ints.arrays(), ints.words(), p, *arrays[:5], wt, b, out.numpy())
        ctx.ints, ctx.p, ctx.arrays = ints, p, arrays
        ctx.dtypes = [t.dtype for t in (cp_tab, colour, attr, pos, mark, weight, bias)]
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # grad (N, R/p, C/p, Cout)
        _, backward = _stem_kernels()
        grad = grad.contiguous()
        grads = [torch.zeros(a.shape, dtype=grad.dtype) for a in ctx.arrays]  # the tables, the weight
        backward(*ctx.ints.arrays(), ctx.ints.words(), ctx.p, *ctx.arrays, grad.numpy(), *(g.numpy() for g in grads))
        g_bias = grad.sum(dim=(0, 1, 2))  # (Cout,)
        out = (*grads, g_bias)
        return (None, None, *(g.to(dt) for g, dt in zip(out, ctx.dtypes)))


def cursor_in(cur, hp, wp, p, C):
    """Whether cell ``cur`` (-1: none) lies in patch (hp, wp)."""
    return cur >= 0 and (cur // C) // p == hp and (cur % C) // p == wp


def same_patch(chars, fg, bg, attrs, cursor, rows_same, n, m, hp, wp, p, C):
    """Whether patch (hp, wp) of frames n and m is equal and holds neither frame's cursor;
    ``rows_same`` (R,) says which screen rows of the two frames are equal (see same_rows)."""
    if cursor_in(cursor[n], hp, wp, p, C) or cursor_in(cursor[m], hp, wp, p, C):
        return False
    for i in range(p):
        if not rows_same[hp * p + i]:
            k0 = (hp * p + i) * C + wp * p
            if not same_cells(chars, fg, bg, attrs, n, m, k0, k0 + p):
                return False
    return True


def patch_vector(chars, fg, bg, attrs, cursor, n, hp, wp, p, C, B, P, V, H, cp_tab, colour, attr, pos, mark, x, acc):
    """x (p*p*D,) = the cell vectors of patch (hp, wp) of frame n in (i, j, d) order, each summed as
    the torch path sums it: ((((cp + fg) + bg) + attr) + pos) + the cursor mark."""
    D = cp_tab.shape[1]
    q = 0
    for i in range(p):
        k0 = (hp * p + i) * C + wp * p
        last = (-1, -1, -1, -1)
        for k in range(k0, k0 + p):
            ids = cell_rows(chars, fg, bg, attrs, n, k, B, P, V, H)
            if ids != last:
                ci, f, b, a = ids
                for d in range(D):
                    acc[d] = cp_tab[ci, d] + colour[f, d] + colour[b, d] + attr[a, d]
                last = ids
            for d in range(D):
                v = acc[d] + pos[k, d]
                x[q + d] = v + mark[d] if k == cursor[n] else v
            q += D


def _stem_forward(chars, fg, bg, attrs, cursor, C, B, P, V, H, words, p, cp_tab, colour, attr, pos, mark, wt, bias,
                  out):
    """out (N, Hp, Wp, c) = bias + x @ wt for every patch vector x; wt (p*p*D, c). A patch equal to
    the stream's previous frame's copies that frame's result."""
    N, Hp, Wp, c = out.shape
    Q = wt.shape[0]
    x = np.empty(Q, out.dtype)
    acc = np.zeros(cp_tab.shape[1], out.dtype)
    y = np.empty(c, out.dtype)
    rows_same = np.zeros(Hp * p, np.bool_)
    for n in range(N):
        if n >= B:
            same_rows(words, chars, fg, bg, attrs, n, n - B, C, rows_same)
        for hp in range(Hp):
            for wp in range(Wp):
                if n >= B and same_patch(chars, fg, bg, attrs, cursor, rows_same, n, n - B, hp, wp, p, C):
                    out[n, hp, wp] = out[n - B, hp, wp]
                    continue
                patch_vector(chars, fg, bg, attrs, cursor, n, hp, wp, p, C, B, P, V, H, cp_tab, colour, attr, pos,
                             mark, x, acc)
                y[:] = bias
                for q in range(Q):
                    for j in range(c):
                        y[j] += x[q] * wt[q, j]
                out[n, hp, wp] = y


def _stem_backward(chars, fg, bg, attrs, cursor, C, B, P, V, H, words, p, cp_tab, colour, attr, pos, mark, w,
                   grad, g_cp, g_colour, g_attr, g_pos, g_mark, g_w):
    """Gradients of the tables and of w (c, p*p*D) from grad (N, Hp, Wp, c) (outputs zeroed by the caller).
    A patch's gradients over a stretch of a stream's consecutive frames in which it stays the
    same are summed first and pushed back once, through the stretch's first frame's cells."""
    N, Hp, Wp, c = grad.shape
    Q, D, S = w.shape[1], cp_tab.shape[1], min(B, N)
    pending = np.zeros((S, Hp, Wp, c), grad.dtype)
    source = np.full((S, Hp, Wp), -1, np.int64)
    x = np.empty(Q, grad.dtype)
    gx_flat = np.empty(Q, grad.dtype)
    gx = gx_flat.reshape(p * p, D)
    acc = np.zeros(D, grad.dtype)
    rows_same = np.zeros(Hp * p, np.bool_)
    for n in range(N + S):  # n >= N: end every stretch
        if B <= n < N:
            same_rows(words, chars, fg, bg, attrs, n, n - B, C, rows_same)
        for hp in range(Hp):
            for wp in range(Wp):
                s = n % B
                m = source[s, hp, wp]
                if n < N and m >= 0 and same_patch(chars, fg, bg, attrs, cursor, rows_same, n, n - B, hp, wp, p, C):
                    pending[s, hp, wp] += grad[n, hp, wp]
                    continue
                if m >= 0:
                    g = pending[s, hp, wp]
                    patch_vector(chars, fg, bg, attrs, cursor, m, hp, wp, p, C, B, P, V, H, cp_tab, colour, attr,
                                 pos, mark, x, acc)
                    gx_flat[:] = 0.0
                    for j in range(c):  # q innermost: contiguous, vectorised
                        gj = g[j]
                        for q in range(Q):
                            g_w[j, q] += x[q] * gj
                            gx_flat[q] += w[j, q] * gj
                    for i in range(p):
                        k0 = (hp * p + i) * C + wp * p
                        scatter_cells(chars, fg, bg, attrs, m, k0, k0 + p, B, P, V, H, gx[i * p:(i + 1) * p],
                                      g_cp, g_colour, g_attr)
                        for jj in range(p):
                            for d in range(D):
                                g_pos[k0 + jj, d] += gx[i * p + jj, d]
                                if k0 + jj == cursor[m]:
                                    g_mark[d] += gx[i * p + jj, d]
                    source[s, hp, wp] = -1
                if n < N:
                    source[s, hp, wp] = n
                    pending[s, hp, wp] = grad[n, hp, wp]


_STEM_KERNELS: tuple | None = None


def _stem_kernels() -> tuple:
    """(forward, backward) of :class:`_PatchStem`, compiled on first use."""
    global _STEM_KERNELS
    if _STEM_KERNELS is None:
        _STEM_KERNELS = jit(globals(), "_stem_forward", "_stem_backward",
                            helpers=("cursor_in", "same_patch", "patch_vector"))
    return _STEM_KERNELS
