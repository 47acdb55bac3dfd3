"""BlockBuilder: the columns of the frame block being written, and the current screen.

``ShardWriter`` owns files, sessions and compression; this class turns each frame
into block columns (see SPEC.md section 3): the first frame of a block is copied
whole, later frames become cell spans (taken from the producer's ``changed`` hint, or
found by diffing) and row moves (scrolling). The current screen is kept lazily: it is
brought up to date only when a diff needs it, so exact hints never pay for it.
"""

from __future__ import annotations

import operator
from array import array
from typing import Sequence

import numpy as np

from sessionforge.formats.errors import ShardWriteError

_U32, _U8 = np.dtype(np.uint32), np.dtype(np.uint8)
TRIM_MIN = 80  # hinted spans at least this long (or half a row) are trimmed to the cells that really changed
GAP = 8  # split a changed run where more than GAP unchanged cells lie between changes (a span costs ~6 bytes)
SCROLL_SPANS = 4  # a hint with this many spans is diffed whole, which finds moved rows


def _ints(path: str, what: str, shown: object, values: Sequence) -> tuple[int, ...]:
    """``values`` as Python ints (numpy integers included), or a ShardWriteError naming ``what``."""
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError:
        raise ShardWriteError(path, None, f"{what} {shown!r}: expected integers") from None


class BlockBuilder:
    """Accumulates one block's columns for a ``rows x cols`` screen; ``reset`` starts the next block."""

    def __init__(self, path: str, rows: int, cols: int, compiled: bool = False) -> None:
        self.path = path
        self._shape = (rows, cols)
        self._jit = None  # builder_jit when compiled: same decisions, same bytes, ~20x faster whole-frame diffs
        if compiled:
            from sessionforge.formats import builder_jit

            self._jit = builder_jit
            self._runs = (np.empty(rows * cols, np.int64), np.empty(rows * cols, np.int64))  # (starts, lens)
            self._best_d, self._tried, self._rows = np.zeros(rows, np.int64), np.zeros(3, np.int64), np.arange(rows)
            self._tmp = (np.empty(rows * cols, _U32), np.empty(rows * cols, _U8))  # moved rows, while syncing
            self._span_cols = (np.empty(cols, np.int64), np.empty(cols, np.int64))  # diff_row's (cols, resid)
        # Small test grids exercise trimming and move detection too.
        self._trim_min = max(2, min(TRIM_MIN, cols // 2))
        self._move_min = max(2, min(GAP, cols // 4))  # rows with this many changed cells are tried as moved rows
        self._last_d = 1
        self._state = (np.zeros(self._shape, _U32),) + tuple(np.zeros(self._shape, _U8) for _ in range(3))
        self._flat_state = tuple(st.reshape(-1) for st in self._state)
        self._pv_key: tuple = (None,) * 4  # the planes whose flat views ``_pv`` holds
        self._pv: tuple[memoryview, ...] | None = None
        self._moves: dict[int, int] = {}  # the current frame's moved rows: destination -> source
        self.reset(1024)

    def add(self, planes: tuple[np.ndarray, ...], cursor: tuple[int, int, bool], action: bytes,
            changed: Sequence[tuple[int, int, int]] | None) -> None:
        """Record one frame (planes already validated: (R, C) uint32/uint8 x3).

        Everything that can reject the frame is checked before anything is recorded, so a
        rejected frame leaves the block as it was and the writer can go on.
        """
        row, col, vis = cursor
        if type(row) is not int or type(col) is not int:  # numpy ints convert; floats do not
            row, col = _ints(self.path, "cursor", cursor, (row, col))
        if not (0 <= row < 65536 and 0 <= col < 65536):
            raise ShardWriteError(self.path, None, f"cursor {cursor!r} out of range 0..65535")
        if changed is not None:
            changed = self._check_spans(changed)
        if self.n == 0:  # first frame of a block: stored whole as the key frame
            self.key = tuple(p.copy() for p in planes)
            for st, p in zip(self._state, planes):
                np.copyto(st, p)
            self._synced, self._sync_s, self._sync_m, self._sync_p = 1, 0, 0, 0
            spans = 0
        else:
            moves, last_d = self._moves, self._last_d
            if moves:
                moves.clear()
            if changed is None or len(changed) >= SCROLL_SPANS:
                # Many changed rows at once looks like scrolling: one vectorised whole-frame
                # diff (which finds moved rows) is cheaper than diffing span by span.
                spans = self._diff_frame(planes)
            else:
                spans = 0
                for r, a, b in changed:
                    if b - a >= self._trim_min:
                        if r not in moves:  # a moved row's residual already covers the row
                            spans += self._diff_span(planes, r, a, b)
                    elif b > a:
                        self._record(planes, r, a, b)
                        spans += 1
            if spans > 0xFFFF:  # only possible on screens of > 131,070 cells
                self._undo_spans(spans)
                self._last_d = last_d
                raise ShardWriteError(self.path, None, f"a frame with {spans} changed runs (> 65535): frame too large")
            for dst, src in moves.items():
                self._mdst.append(dst)
                self._msrc.append(src)
        self._cur_row.append(row)
        self._cur_col.append(col)
        self._cur_vis.append(1 if vis else 0)
        self._act_lens.append(len(action))
        self._act.extend(action)
        self._counts.append(spans)
        self._mcounts.append(len(self._moves) if self.n else 0)
        self.n += 1

    def _undo_spans(self, spans: int) -> None:
        """Forget the last ``spans`` recorded spans and their cells (a frame being rejected)."""
        n = sum(self._slen[-spans:])
        for col in (self._srow, self._scol, self._slen):
            del col[-spans:]
        self.p -= n
        self._moves.clear()

    def columns(self) -> tuple:
        """The block's columns, in ``encode_block``'s argument order (the builder must be reset after)."""
        h = np.uint16
        return (self.key, np.frombuffer(self._cur_row, h), np.frombuffer(self._cur_col, h),
                np.frombuffer(self._cur_vis, np.uint8), np.frombuffer(self._act_lens, np.uint32), bytes(self._act),
                np.frombuffer(self._counts, h), np.frombuffer(self._srow, h), np.frombuffer(self._scol, h),
                np.frombuffer(self._slen, h), self.cells(), np.frombuffer(self._mcounts, h),
                np.frombuffer(self._mdst, h), np.frombuffer(self._msrc, h))

    def cells(self) -> tuple[np.ndarray, ...]:
        """The span cells recorded so far: (chars, fg, bg, attrs), each (c,)."""
        return tuple(c[: self.p] for c in self._cells)

    def _record(self, planes: tuple[np.ndarray, ...], r: int, a: int, b: int) -> None:
        """Copy cells [a, b) of row r into the block's cell columns."""
        p, n = self.p, b - a
        if p + n > self._cap:
            self._grow(p + n)
        q = p + n
        k = self._pv_key
        pmv = self._pv if (planes[0] is k[0] and planes[1] is k[1] and planes[2] is k[2]
                           and planes[3] is k[3]) else self._plane_views(planes)
        if pmv is not None:  # memoryview item/slice copies cost about a third of numpy's
            c0, c1, c2, c3 = self._cmv
            j = r * self._shape[1] + a
            if n == 1:  # typing
                c0[p], c1[p], c2[p], c3[p] = pmv[0][j], pmv[1][j], pmv[2][j], pmv[3][j]
            else:
                k = j + n
                c0[p:q], c1[p:q], c2[p:q], c3[p:q] = pmv[0][j:k], pmv[1][j:k], pmv[2][j:k], pmv[3][j:k]
        else:
            c0, c1, c2, c3 = self._cells
            c0[p:q] = planes[0][r, a:b]
            c1[p:q] = planes[1][r, a:b]
            c2[p:q] = planes[2][r, a:b]
            c3[p:q] = planes[3][r, a:b]
        self.p = q
        self._srow.append(r)
        self._scol.append(a)
        self._slen.append(n)

    def _sync(self) -> None:
        """Bring the current screen (``self._state``) up to the previous frame.

        The screen is only needed to diff (no hint, long or many spans); with exact hints
        from the producer it is never touched, which keeps add_frame cheap. When needed,
        the frames recorded since the last sync are applied in a few vectorised steps,
        split only at frames with moves (moves happen before a frame's spans).
        """
        done = len(self._counts)  # frames of this block already recorded (the current one is not)
        if self._synced >= done:
            return
        if self._jit is not None:
            self._sync_compiled(done)
            return
        counts = np.frombuffer(self._counts[self._synced : done], np.uint16)
        mcounts = np.frombuffer(self._mcounts[self._synced : done], np.uint16)
        prev = 0
        for t in np.flatnonzero(mcounts).tolist() + [len(counts)]:
            self._apply_spans(int(counts[prev:t].sum()))
            prev = t
            if t < len(counts):  # the moves of that frame, all read from the screen before it
                m, k = self._sync_m, int(mcounts[t])
                dst, src = list(self._mdst[m : m + k]), list(self._msrc[m : m + k])
                for st in self._state:
                    st[dst] = st[src]
                self._sync_m = m + k
        self._synced = done

    def _sync_compiled(self, done: int) -> None:
        C = self._shape[1]
        self._sync_s, self._sync_m, self._sync_p = self._jit.sync(
            *self._flat_state, *self._cells, *self._tmp, C, self._counts, self._mcounts, self._srow, self._scol,
            self._slen, self._mdst, self._msrc, self._synced, done, self._sync_s, self._sync_m, self._sync_p)
        self._synced = done

    def _apply_spans(self, n_spans: int) -> None:
        """Apply the next ``n_spans`` recorded spans to the current screen, later spans winning."""
        if n_spans == 0:
            return
        C = self._shape[1]
        sa, sb, pa = self._sync_s, self._sync_s + n_spans, self._sync_p
        rows = np.frombuffer(self._srow[sa:sb], np.uint16).astype(np.int64)
        cols = np.frombuffer(self._scol[sa:sb], np.uint16).astype(np.int64)
        lens = np.frombuffer(self._slen[sa:sb], np.uint16).astype(np.int64)
        total = int(lens.sum())
        flat = np.repeat(rows * C + cols - (np.cumsum(lens) - lens), lens) + np.arange(total)  # (cells,)
        _, first = np.unique(flat[::-1], return_index=True)  # keep each cell's last write
        keep = total - 1 - first
        for st, cells in zip(self._state, self._cells):
            st.reshape(-1)[flat[keep]] = cells[pa + keep]
        self._sync_s, self._sync_p = sb, pa + total

    def _plane_views(self, planes: tuple[np.ndarray, ...]) -> tuple[memoryview, ...] | None:
        """Flat memoryviews of ``planes`` (item access ~3x cheaper than numpy's), None unless contiguous.

        Cached while the producer passes the same arrays (updated in place, which the views see).
        """
        k = self._pv_key
        if planes[0] is k[0] and planes[1] is k[1] and planes[2] is k[2] and planes[3] is k[3]:
            return self._pv
        self._pv_key = planes
        if all(p.flags.c_contiguous for p in planes):
            self._pv = tuple(memoryview(p.reshape(-1)) for p in planes)
        else:
            self._pv = None
        return self._pv

    def _row_diff(self, planes: tuple[np.ndarray, ...], r: int, src: int, a: int, b: int) -> np.ndarray:
        """Columns in [a, b) where row r of the new frame differs from row ``src`` of the previous one."""
        s0, s1, s2, s3 = self._state
        m = planes[0][r, a:b] != s0[src, a:b]
        m |= planes[1][r, a:b] != s1[src, a:b]
        m |= planes[2][r, a:b] != s2[src, a:b]
        m |= planes[3][r, a:b] != s3[src, a:b]
        return a + np.flatnonzero(m)

    def _diff_span(self, planes: tuple[np.ndarray, ...], r: int, a: int, b: int) -> int:
        """Record only the cells of row r, [a, b) that differ from the previous frame."""
        self._sync()
        if self._jit is not None:
            cols, resid = self._span_cols
            n, src = self._jit.diff_row(*planes, *self._state, r, a, b, self._move_min, self._last_d, cols, resid)
            if src >= 0:
                self._moves[r] = src
                self._last_d = src - r
            return self._record_runs(planes, r, cols[:n])
        return self._changed_row(planes, r, self._row_diff(planes, r, r, a, b))

    def _changed_row(self, planes: tuple[np.ndarray, ...], r: int, cols: np.ndarray) -> int:
        """Record row r's changes; a heavily changed row is first tried as a moved row (scrolling)."""
        if len(cols) >= self._move_min:
            R, C = self._shape
            for d in dict.fromkeys((self._last_d, 1, -1)):
                src = r + d
                if 0 <= src < R and d != 0:
                    resid = self._row_diff(planes, r, src, 0, C)
                    if 2 * len(resid) < len(cols):
                        self._moves[r] = src
                        self._last_d = d
                        return self._record_runs(planes, r, resid)
        return self._record_runs(planes, r, cols)

    def _diff_frame(self, planes: tuple[np.ndarray, ...]) -> int:
        """Compare the whole frame with the previous one, vectorised over rows.

        A heavily changed row that equals (or nearly equals) the previous frame's row
        one above or below - or at the last scroll distance - is stored as a move plus
        the few cells that still differ (scrolling, inserted and deleted lines).
        """
        self._sync()
        if self._jit is not None:
            return self._diff_frame_compiled(planes)
        st = self._state
        own = planes[0] != st[0]  # (R, C)
        for p, q in zip(planes[1:], st[1:]):
            own |= p != q
        n_own = own.sum(axis=1)  # (R,)
        if n_own.max(initial=0) >= self._move_min:
            R = self._shape[0]
            best_n, best_d = n_own.copy(), np.zeros(R, np.int64)
            masks = {}
            for d in dict.fromkeys((self._last_d, 1, -1)):
                lo, hi = max(0, -d), R - max(0, d)
                if d == 0 or hi <= lo:
                    continue
                if masks and not (best_n >= self._move_min).any():
                    break  # the last scroll distance explained every heavily changed row
                md = planes[0][lo:hi] != st[0][lo + d : hi + d]  # (hi - lo, C): row r vs old row r + d
                for p, q in zip(planes[1:], st[1:]):
                    md |= p[lo:hi] != q[lo + d : hi + d]
                n_d = md.sum(axis=1)
                better = (2 * n_d < n_own[lo:hi]) & (n_d < best_n[lo:hi])
                best_n[lo:hi][better] = n_d[better]
                best_d[lo:hi][better] = d
                masks[d] = (lo, md)
            for d, (lo, md) in masks.items():
                rows = np.flatnonzero(best_d == d)
                if len(rows):
                    own[rows] = md[rows - lo]
                    self._moves.update(zip(rows.tolist(), (rows + d).tolist()))
                    self._last_d = d
        return self._record_mask(planes, own)

    def _diff_frame_compiled(self, planes: tuple[np.ndarray, ...]) -> int:
        """``_diff_frame`` with builder_jit's loops: the same counts, moves and runs."""
        jit, st = self._jit, self._state
        best_d, tried = self._best_d, self._tried
        for d in tried[: jit.choose_moves(*planes, *st, self._last_d, self._move_min, best_d, tried)].tolist():
            rows = np.flatnonzero(best_d == d)
            if len(rows):
                self._moves.update(zip(rows.tolist(), (rows + d).tolist()))
                self._last_d = d
        starts, lens = self._runs
        k = jit.changed_runs(*planes, *st, self._rows + best_d, GAP, starts, lens)
        if k == 0:
            return 0
        starts, lens = starts[:k], lens[:k]
        p = self.p
        total = int(lens.sum())
        if p + total > self._cap:
            self._grow(p + total)
        for cells, plane in zip(self._cells, planes):
            q = jit.gather_runs(plane.reshape(-1), starts, lens, k, cells, p)
        self.p = q
        self._append_runs(starts, lens)
        return k

    def _check_spans(self, changed: Sequence[tuple[int, int, int]]) -> Sequence[tuple[int, int, int]]:
        """The hint, checked whole before anything is recorded, with Python ints (numpy ints converted)."""
        R, C = self._shape
        for r, a, b in changed:
            if type(r) is not int or type(a) is not int or type(b) is not int:
                changed = [_ints(self.path, "changed span", span, span) for span in changed]
                break
        for r, a, b in changed:
            if not (0 <= r < R and 0 <= a <= b <= C):
                raise ShardWriteError(self.path, None, f"changed span {(r, a, b)} outside the {R}x{C} frame")
        return changed

    def _record_mask(self, planes: tuple[np.ndarray, ...], mask: np.ndarray) -> int:
        """Record the changed cells of a (R, C) mask as runs, in a few vectorised steps."""
        pos = np.flatnonzero(mask)  # flat cell indices
        if len(pos) == 0:
            return 0
        C = self._shape[1]
        row = pos // C
        new = np.ones(len(pos), bool)
        new[1:] = (np.diff(pos) > GAP) | (row[1:] != row[:-1])  # a new run: next row, or a gap > GAP
        first = np.flatnonzero(new)
        starts = pos[first]
        lens = pos[np.append(first[1:], len(pos)) - 1] + 1 - starts
        total = int(lens.sum())
        idx = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)  # (cells,)
        p = self.p
        if p + total > self._cap:
            self._grow(p + total)
        for cells, plane in zip(self._cells, planes):
            cells[p : p + total] = plane.reshape(-1)[idx]
        self.p = p + total
        self._append_runs(starts, lens)
        return len(starts)

    def _append_runs(self, starts: np.ndarray, lens: np.ndarray) -> None:
        """Append runs given as flat start cells and lengths to the span columns."""
        C = self._shape[1]
        rows = starts // C
        self._srow.frombytes(rows.astype("<u2").tobytes())
        self._scol.frombytes((starts - rows * C).astype("<u2").tobytes())
        self._slen.frombytes(lens.astype("<u2").tobytes())

    def _record_runs(self, planes: tuple[np.ndarray, ...], r: int, cols: np.ndarray) -> int:
        """Record the changed columns ``cols`` of row r as runs."""
        if len(cols) == 0:
            return 0
        cols = cols.tolist()
        start = prev = cols[0]
        spans = 0
        for c in cols[1:]:  # split where more than GAP unchanged cells separate two changes
            if c - prev > GAP:
                self._record(planes, r, start, prev + 1)
                spans += 1
                start = c
            prev = c
        self._record(planes, r, start, prev + 1)
        return spans + 1

    def reset(self, cap: int) -> None:
        """Start a new block (the current screen carries over)."""
        self.n, self.p, self._cap = 0, 0, cap
        self._cells = (np.empty(cap, _U32),) + tuple(np.empty(cap, _U8) for _ in range(3))
        self._cmv = tuple(memoryview(c) for c in self._cells)
        self._cur_row, self._cur_col, self._cur_vis = array("H"), array("H"), array("B")
        self._act_lens, self._act = array("I"), bytearray()
        self._counts, self._srow, self._scol, self._slen = array("H"), array("H"), array("H"), array("H")
        self._mcounts, self._mdst, self._msrc = array("H"), array("H"), array("H")
        self.key: tuple[np.ndarray, ...] | None = None

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        self._cap = cap
        new = tuple(np.empty(cap, c.dtype) for c in self._cells)
        for d, c in zip(new, self._cells):
            d[: self.p] = c[: self.p]
        self._cells = new
        self._cmv = tuple(memoryview(c) for c in new)
