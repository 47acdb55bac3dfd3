"""Compiled (numba) steps of :class:`builder.BlockBuilder`'s whole-frame diff.

The builder keeps its current screen lazily and diffs whole frames only for scrolling
and other many-row changes (~1.5% of replayed frames), but each such frame cost
~0.5-1 ms of numpy calls on a 48x160 screen: catching the screen up over the frames
since the last diff, comparing four planes at three row offsets, and cutting the
changed cells into runs. These loops do the same work in a few passes over the cells.

They compute exactly what the numpy code computes (counts, masks, runs): the builder
makes the same decisions either way and writes byte-identical shards (tested). This
module imports numba; :mod:`builder` imports it only when the writer is told to use it.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _copy(dst, src):
    """dst[:] = src for 1-D slices (a separate function so LLVM vectorises it; see block_jit).

    Not imported from block_jit: numba's on-disk cache does not notice edits to jitted
    functions of other files, so each kernel file keeps its own helpers.
    """
    for i in range(dst.size):
        dst[i] = src[i]


@numba.njit(cache=True, nogil=True)
def _sync_plane(state, cells, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1, s, m, p, tmp):
    for f in range(f0, f1):
        k = mcounts[f]
        for j in range(k):
            _copy(tmp[j * C : (j + 1) * C], state[msrc[m + j] * C : (msrc[m + j] + 1) * C])
        for j in range(k):
            _copy(state[mdst[m + j] * C : (mdst[m + j] + 1) * C], tmp[j * C : (j + 1) * C])
        m += k
        for _ in range(counts[f]):
            n, d = slen[s], srow[s] * C + scol[s]
            _copy(state[d : d + n], cells[p : p + n])
            p += n
            s += 1
    return s, m, p


@numba.njit(cache=True, nogil=True)
def sync(s0, s1, s2, s3, c0, c1, c2, c3, t32, t8, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1,
         s, m, p):
    """Apply recorded frames [f0, f1) to the screen planes ``s0..s3`` (each (R*C,)) in place.

    Each frame moves rows first (sources read from the frame before), then writes its
    spans in order. ``c0..c3``: the span cells; the column arguments may be the
    builder's ``array("H")`` columns themselves (numba reads buffers). ``s``, ``m``,
    ``p``: the first span, move and cell of frame f0; returns them after frame f1 - 1.
    ``t32`` (R*C,) uint32 and ``t8`` (R*C,) uint8: scratch for moved rows.
    """
    _sync_plane(s0, c0, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1, s, m, p, t32)
    _sync_plane(s1, c1, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1, s, m, p, t8)
    _sync_plane(s2, c2, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1, s, m, p, t8)
    return _sync_plane(s3, c3, C, counts, mcounts, srow, scol, slen, mdst, msrc, f0, f1, s, m, p, t8)


@numba.njit(cache=True, nogil=True)
def _row_diff_count(n0, n1, n2, n3, o0, o1, o2, o3, r, q):
    """Cells where new row r differs from old row q in any plane."""
    cnt = 0
    for c in range(n0.shape[1]):
        cnt += (n0[r, c] != o0[q, c]) | (n1[r, c] != o1[q, c]) | (n2[r, c] != o2[q, c]) | (n3[r, c] != o3[q, c])
    return cnt


@numba.njit(cache=True, nogil=True)
def choose_moves(n0, n1, n2, n3, o0, o1, o2, o3, last_d, move_min, best_d, tried):
    """Which old row each new row is best stored against: ``best_d[r]`` = d means old row r + d.

    The numpy rule of ``BlockBuilder._diff_frame``: only when some row has >= move_min
    changed cells, try the offsets last_d, 1, -1 (each once, in that order, stopping
    once no row is left with >= move_min cells); a row moves if its cells differing
    from old row r + d are fewer than half its own changed cells and fewer than with
    any offset tried before. Writes the tried offsets to ``tried``; returns how many.
    """
    R = n0.shape[0]
    n_own = np.empty(R, np.int64)
    for r in range(R):
        n_own[r] = _row_diff_count(n0, n1, n2, n3, o0, o1, o2, o3, r, r)
        best_d[r] = 0
    if n_own.max() < move_min:
        return 0
    best_n = n_own.copy()
    k = 0
    for i in range(3):
        d = last_d if i == 0 else (1 if i == 1 else -1)
        if d == 0 or R - abs(d) <= 0 or (i > 0 and d == last_d):
            continue
        if k > 0 and best_n.max() < move_min:
            break
        for r in range(max(0, -d), R - max(0, d)):
            n_d = _row_diff_count(n0, n1, n2, n3, o0, o1, o2, o3, r, r + d)
            if 2 * n_d < n_own[r] and n_d < best_n[r]:
                best_n[r] = n_d
                best_d[r] = d
        tried[k] = d
        k += 1
    return k


@numba.njit(cache=True, nogil=True)
def diff_row(n0, n1, n2, n3, o0, o1, o2, o3, r, a, b, move_min, last_d, cols, resid):
    """``BlockBuilder._diff_span``'s rule for one hinted span of row r: returns ``(n, src)``.

    ``cols[:n]`` are the columns to record: those in [a, b) where new row r differs from
    old row r (``src`` = -1); or, when there are >= move_min of them and old row r + d
    (d = last_d, 1, -1 in that order, each once) differs in fewer than half as many
    cells over the whole row, those residual columns, with ``src`` = r + d (a move).
    """
    R, C = n0.shape
    k = 0
    for c in range(a, b):
        if (n0[r, c] != o0[r, c]) | (n1[r, c] != o1[r, c]) | (n2[r, c] != o2[r, c]) | (n3[r, c] != o3[r, c]):
            cols[k] = c
            k += 1
    if k >= move_min:
        for i in range(3):
            d = last_d if i == 0 else (1 if i == 1 else -1)
            src = r + d
            if (i > 0 and d == last_d) or d == 0 or not 0 <= src < R:
                continue
            m = 0
            for c in range(C):
                if (n0[r, c] != o0[src, c]) | (n1[r, c] != o1[src, c]) | (n2[r, c] != o2[src, c]) | \
                        (n3[r, c] != o3[src, c]):
                    resid[m] = c
                    m += 1
            if 2 * m < k:
                cols[:m] = resid[:m]
                return m, src
    return k, -1


@numba.njit(cache=True, nogil=True)
def changed_runs(n0, n1, n2, n3, o0, o1, o2, o3, src_row, gap, starts, lens):
    """Runs of cells where new row r differs from old row ``src_row[r]``; returns how many.

    A run ends at the end of a row or where more than ``gap`` unchanged cells follow it
    (the numpy rule: consecutive changed cells more than ``gap`` apart start a new run).
    ``starts`` (flat cell index) and ``lens`` need room for R*C runs.
    """
    R, C = n0.shape
    k = 0
    for r in range(R):
        q = src_row[r]
        last = -1  # column of the last changed cell of the open run, -1: no run open
        for c in range(C):
            if (n0[r, c] != o0[q, c]) | (n1[r, c] != o1[q, c]) | (n2[r, c] != o2[q, c]) | (n3[r, c] != o3[q, c]):
                if last >= 0 and c - last <= gap:
                    lens[k - 1] = c - (starts[k - 1] - r * C) + 1
                else:
                    starts[k] = r * C + c
                    lens[k] = 1
                    k += 1
                last = c
    return k


@numba.njit(cache=True, nogil=True)
def gather_runs(plane, starts, lens, k, cells, p):
    """Append the cells of runs [0, k) of ``plane`` (R*C,) to ``cells`` from ``p``; returns the new end."""
    for j in range(k):
        n = lens[j]
        _copy(cells[p : p + n], plane[starts[j] : starts[j] + n])
        p += n
    return p
