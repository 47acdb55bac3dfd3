"""Compiled frame-block decoding (numba): frame by frame, straight into the output.

The numpy decoder in :mod:`block` avoids Python loops over frames by building row
versions in bulk; that costs ~10 us of numpy calls per frame on top of writing the
output. Compiled, the plain sequential algorithm is cheaper: frame ``f`` is frame
``f - 1`` with its moved rows gathered from their sources, then its spans written
over it. Each output frame is written once, from the previous output frame (still
in cache), so a frame costs little more than writing its 7 bytes per cell.

Semantics (the same as SPEC.md and the numpy decoder): the state before a block's
frame 0 is its key frame; frame ``f`` first moves rows (every source is read from
frame ``f - 1``; a row is the destination of at most one move), then writes its
spans in order (a later span wins where two overlap).

This module imports numba (~0.5 s); :mod:`block` imports it only when numba is
installed and a block is decoded with it.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _copy(dst, src):
    """dst[:] = src for 1-D slices. A separate function, so that LLVM vectorises the loop: inline,
    with both slices cut from one buffer, it cannot prove they do not overlap and copies
    element by element (measured ~8x slower than this at 160 uint8 cells)."""
    for i in range(dst.size):
        dst[i] = src[i]


@numba.njit(cache=True, nogil=True)
def _spans(vals, dst, base, f, key, C, span_at, span_row, span_col, cell_at):
    """Write frame f's spans into ``dst`` (flat) at frame offset ``base``."""
    for j in range(span_at[f], span_at[f + 1]):
        d, v, n = base + span_row[j] * C + span_col[j], key + cell_at[j], cell_at[j + 1] - cell_at[j]
        _copy(dst[d : d + n], vals[v : v + n])


@numba.njit(cache=True, nogil=True)
def apply_frames(vals, state, tmp, R, C, f_lo, f_hi, span_at, span_row, span_col, cell_at, move_at, move_dst, move_src):
    """Apply frames [f_lo, f_hi) to ``state`` (R*C,) in place; ``tmp`` (R*C,) scratch for moved rows."""
    key = R * C
    for f in range(f_lo, f_hi):
        m0, m1 = move_at[f], move_at[f + 1]
        for j in range(m0, m1):  # every source is read from the frame before: copy them first
            t, s = (j - m0) * C, move_src[j] * C
            _copy(tmp[t : t + C], state[s : s + C])
        for j in range(m0, m1):
            t, d = (j - m0) * C, move_dst[j] * C
            _copy(state[d : d + C], tmp[t : t + C])
        _spans(vals, state, 0, f, key, C, span_at, span_row, span_col, cell_at)


@numba.njit(cache=True, nogil=True)
def emit(vals, prev, out, R, C, pos, f_lo, f_hi, rowmap, span_at, span_row, span_col, cell_at, move_at, move_dst,
         move_src):
    """Write frames [f_lo, f_hi) to ``out`` (T*R*C,) from frame ``pos``; ``prev`` (R*C,) is frame f_lo - 1."""
    key = R * C
    for f in range(f_lo, f_hi):
        p = (pos + f - f_lo) * key
        src = prev if f == f_lo else out[p - key : p]
        if move_at[f] == move_at[f + 1]:
            _copy(out[p : p + key], src)
        else:
            for r in range(R):
                rowmap[r] = r
            for j in range(move_at[f], move_at[f + 1]):
                rowmap[move_dst[j]] = move_src[j]
            for r in range(R):
                d, s = p + r * C, rowmap[r] * C
                _copy(out[d : d + C], src[s : s + C])
        _spans(vals, out, p, f, key, C, span_at, span_row, span_col, cell_at)


class JitPlanes:
    """Sequential decoding state of one block: each plane's frame ``cur`` (R, C); -1 = the key frame."""

    def __init__(self, rows: int, cols: int, values: tuple[np.ndarray, ...], span_at: np.ndarray,
                 span_row: np.ndarray, span_col: np.ndarray, cell_at: np.ndarray, move_at: np.ndarray,
                 move_dst: np.ndarray, move_src: np.ndarray) -> None:
        self.rows, self.cols, self.values = rows, cols, values
        self._cols = (span_at, span_row, span_col, cell_at, move_at, move_dst, move_src)
        self._rowmap = np.empty(rows, np.int64)
        self._tmp = tuple(np.empty(rows * cols, v.dtype) for v in values)
        self._restart()

    def _restart(self) -> None:
        R, C = self.rows, self.cols
        self._state = tuple(v[: R * C].copy() for v in self.values)
        self.cur = -1

    def fill(self, out_planes: tuple[np.ndarray, ...], pos: int, a: int, b: int) -> None:
        """Write frames [a, b) into ``out_planes[k][pos : pos + b - a]`` (each (T, R, C))."""
        if b <= a:
            return
        span_at, span_row, span_col, cell_at, move_at, move_dst, move_src = self._cols
        if a <= self.cur:  # going backwards: restart from the key frame
            self._restart()
        R, C = self.rows, self.cols
        try:
            for v, st, tmp, out in zip(self.values, self._state, self._tmp, out_planes):
                assert out.flags.c_contiguous  # else reshape copies and the frames are lost (the reader checks)
                flat = out.reshape(-1)
                if self.cur + 1 < a:
                    apply_frames(v, st, tmp, R, C, self.cur + 1, a, span_at, span_row, span_col, cell_at, move_at,
                            move_dst, move_src)
                emit(v, st, flat, R, C, pos, a, b, self._rowmap, span_at, span_row, span_col, cell_at, move_at,
                     move_dst, move_src)
                st[:] = flat[(pos + b - a - 1) * R * C : (pos + b - a) * R * C]
        except BaseException:
            self._restart()  # some planes may have advanced and others not: start over next time
            raise
        self.cur = b - 1
