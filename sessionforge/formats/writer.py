"""ShardWriter: sessions of frames -> one termstream shard file (atomic, block-compressed).

The writer keeps the current screen of the open session, records each frame as the
spans of cells that changed, and every ``block_frames`` frames hands the block's
columns to a background thread that serialises and compresses it (lzma and zstd
release the GIL, so compression overlaps with the producer). Blocks are written in
order; the footer index is written last, then the temporary file is renamed to the
final name. If anything fails inside the ``with`` block the temporary file is
removed, so a finished-looking shard is always a complete one.
"""

from __future__ import annotations

import os
import secrets
from array import array
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Sequence

import msgpack
import numpy as np

from sessionforge.formats import layout
from sessionforge.formats.block import encode_block
from sessionforge.formats.errors import FormatError, ShardWriteError
from sessionforge.formats.frames import SessionInfo

_U32, _U8 = np.dtype(np.uint32), np.dtype(np.uint8)
MAX_CODEPOINT = 0x10FFFF
TRIM_MIN = 80  # hinted spans at least this long (or half a row) are trimmed to the cells that really changed
GAP = 8  # split a changed run where >= GAP unchanged cells lie between changes (a span costs ~6 bytes)
SCROLL_SPANS = 4  # a hint with this many spans is checked for moved rows
MAX_PENDING = 3  # blocks compressing in the background before add_frame waits


class ShardWriter:
    """Write sessions of frames into one shard; use as a context manager.

    ``codec``: "xz" (default, smallest) or "zstd" (faster). ``block_frames``: frames
    per compressed block (a key frame starts each block; smaller = faster random
    seeks, larger = smaller files). ``level``: codec level (xz preset / zstd level).
    ``threads``: compress on a background thread.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        rows: int = 48,
        cols: int = 160,
        codec: str = "xz",
        *,
        block_frames: int = 4096,
        max_block_cells: int = 1 << 20,
        level: int | None = None,
        threads: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        if codec not in layout.CODEC_IDS:
            raise ShardWriteError(self.path, None, f"unknown codec {codec!r}; use 'xz' or 'zstd'")
        if not (0 < rows < 65536 and 0 < cols < 65536):
            raise ShardWriteError(self.path, None, f"frame size {rows}x{cols} out of range 1..65535")
        if block_frames < 1:
            raise ShardWriteError(self.path, None, "block_frames must be >= 1")
        self.rows, self.cols, self.codec = rows, cols, codec
        self._codec_id, self._level = layout.CODEC_IDS[codec], level
        self._block_frames, self._max_cells = block_frames, max_block_cells
        self._shape = (rows, cols)
        self._shapes = (self._shape,) * 4
        head, tail = os.path.split(self.path)
        self._tmp = os.path.join(head, f".{tail}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        self._file = open(self._tmp, "wb")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="termstream") if threads else None
        self._queue: deque[tuple[Future | bytes, dict, int, int, str]] = deque()  # (block, session, first, n, what)
        self._sessions: list[dict] = []
        self._cur: dict | None = None
        self._closed = False
        self.bytes_written = 0
        self._write(layout.pack_file_header(rows, cols, self._codec_id))
        # Small test grids exercise trimming and move detection too.
        self._trim_min = max(2, min(TRIM_MIN, cols // 2))
        self._move_min = max(2, min(GAP, cols // 4))  # rows with this many changed cells are tried as moved rows
        self._last_d = 1
        # Frames, spans, moves and cells of the current block already applied to self._state.
        self._synced = self._sync_s = self._sync_m = self._sync_p = 0
        self._state = (np.zeros(self._shape, _U32),) + tuple(np.zeros(self._shape, _U8) for _ in range(3))
        self._new_block_buffers(1024)

    # ------------------------------------------------------------------ sessions
    def begin_session(self, meta: dict, palette: Sequence[int]) -> None:
        """Start a session. ``meta``: msgpack-able dict; ``palette``: <= 256 colours as 0xRRGGBB ints."""
        self._check_open()
        if self._cur is not None:
            raise ShardWriteError(self.path, None, "begin_session called while a session is open")
        if not isinstance(meta, dict):
            raise ShardWriteError(self.path, None, f"session meta must be a dict, got {type(meta).__name__}")
        pal = [int(c) for c in palette]
        if len(pal) > 256 or any(not 0 <= c <= 0xFFFFFF for c in pal):
            raise ShardWriteError(self.path, None, "palette must hold <= 256 colours, each 0x000000..0xFFFFFF")
        raw = _packb(self.path, {"meta": meta, "palette": pal})
        self._cur = {"meta": dict(meta), "palette": pal, "frames": 0, "action_bytes": 0,
                     "blocks": [], "header": None, "stored": 0, "index": len(self._sessions)}
        self._enqueue(lambda: layout.pack_block(layout.KIND_SESSION, self._codec_id, raw, self._level), "header", 0, 0)

    def end_session(self, extra_meta: dict | None = None) -> SessionInfo:
        """Finish the open session; ``extra_meta`` is merged into its meta. Waits for its blocks."""
        self._check_open()
        cur = self._require_session()
        if extra_meta:
            cur["meta"].update(extra_meta)
            _packb(self.path, cur["meta"])  # fail now, not at close, if extra_meta is not msgpack-able
        self._flush_block()
        self._drain(wait_all=True)
        self._sessions.append(cur)
        self._cur = None
        return SessionInfo(cur["index"], cur["meta"], cur["palette"], cur["frames"], cur["action_bytes"], cur["stored"])

    # ------------------------------------------------------------------ frames
    def add_frame(self, chars: np.ndarray, fg: np.ndarray, bg: np.ndarray, attrs: np.ndarray,
                  cursor: tuple[int, int, bool], action: bytes,
                  changed: Sequence[tuple[int, int, int]] | None = None) -> None:
        """Append one frame (see the module contract). ``changed`` spans must cover every changed cell."""
        cur = self._cur
        if cur is None:
            self._check_open()
            self._require_session()
        planes = (chars, fg, bg, attrs)
        # Fast path: builtin dtypes are singletons, so `is` suffices; anything else is checked properly.
        if not (chars.dtype is _U32 and fg.dtype is _U8 and bg.dtype is _U8 and attrs.dtype is _U8
                and (chars.shape, fg.shape, bg.shape, attrs.shape) == self._shapes):
            planes = self._coerce(planes)
        row, col, vis = cursor
        if not (0 <= row < 65536 and 0 <= col < 65536):
            raise ShardWriteError(self.path, None, f"cursor {cursor!r} out of range 0..65535")
        self._cur_row.append(row)
        self._cur_col.append(col)
        self._cur_vis.append(1 if vis else 0)
        self._act_lens.append(len(action))
        self._act.extend(action)
        if self._n == 0:  # first frame of a block: stored whole as the key frame
            self._check_values(planes, None)
            self._key = tuple(p.copy() for p in planes)
            for st, p in zip(self._state, planes):
                np.copyto(st, p)
            self._synced, self._sync_s, self._sync_m, self._sync_p = 1, 0, 0, 0
            self._counts.append(0)
            self._mcounts.append(0)
        else:
            self._moves: dict[int, int] = {}
            if changed is None:
                spans = self._diff_frame(planes)
            else:
                spans = 0
                R, C = self._shape
                for r, a, b in changed:
                    if not (0 <= r < R and 0 <= a <= b <= C):
                        raise ShardWriteError(self.path, None, f"changed span {(r, a, b)} outside the {R}x{C} frame")
                if len(changed) >= SCROLL_SPANS:
                    # Many changed rows at once looks like scrolling: one vectorised whole-frame
                    # diff (which finds moved rows) is cheaper than diffing span by span.
                    spans = self._diff_frame(planes, check=False)
                else:
                    for r, a, b in changed:
                        if b - a >= self._trim_min:
                            if r not in self._moves:  # a moved row's residual already covers the row
                                spans += self._diff_span(planes, r, a, b)
                        elif b > a:
                            self._record(planes, r, a, b)
                            spans += 1
            self._counts.append(spans)
            self._mcounts.append(len(self._moves))
            for dst, src in self._moves.items():
                self._mdst.append(dst)
                self._msrc.append(src)
        self._n += 1
        cur["frames"] += 1
        cur["action_bytes"] += len(action)
        if self._n >= self._block_frames or self._p >= self._max_cells:
            self._flush_block()

    def _record(self, planes: tuple[np.ndarray, ...], r: int, a: int, b: int) -> None:
        """Copy cells [a, b) of row r into the block's cell columns."""
        p, n = self._p, b - a
        if p + n > self._cap:
            self._grow(p + n)
        c0, c1, c2, c3 = self._cells
        if n == 1:  # typing: element copies cost a fraction of slice copies
            c0[p] = planes[0][r, a]
            c1[p] = planes[1][r, a]
            c2[p] = planes[2][r, a]
            c3[p] = planes[3][r, a]
            self._p = p + 1
            self._srow.append(r)
            self._scol.append(a)
            self._slen.append(1)
            return
        q = p + n
        c0[p:q] = planes[0][r, a:b]
        c1[p:q] = planes[1][r, a:b]
        c2[p:q] = planes[2][r, a:b]
        c3[p:q] = planes[3][r, a:b]
        self._p = q
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

    def _diff_frame(self, planes: tuple[np.ndarray, ...], check: bool = True) -> int:
        """Compare the whole frame with the previous one, vectorised over rows.

        A heavily changed row that equals (or nearly equals) the previous frame's row
        one above or below - or at the last scroll distance - is stored as a move plus
        the few cells that still differ (scrolling, inserted and deleted lines).
        """
        self._sync()
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
        spans = self._record_mask(planes, own)
        if check:
            self._check_values(planes, None)
        return spans

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
        p = self._p
        if p + total > self._cap:
            self._grow(p + total)
        for cells, plane in zip(self._cells, planes):
            cells[p : p + total] = plane.reshape(-1)[idx]
        self._p = p + total
        rows = starts // C
        self._srow.frombytes(rows.astype("<u2").tobytes())
        self._scol.frombytes((starts - rows * C).astype("<u2").tobytes())
        self._slen.frombytes(lens.astype("<u2").tobytes())
        return len(starts)

    def _record_runs(self, planes: tuple[np.ndarray, ...], r: int, cols: np.ndarray) -> int:
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

    # ------------------------------------------------------------------ blocks
    def _new_block_buffers(self, cap: int) -> None:
        self._n, self._p, self._cap = 0, 0, cap
        self._cells = (np.empty(cap, _U32),) + tuple(np.empty(cap, _U8) for _ in range(3))
        self._cur_row, self._cur_col, self._cur_vis = array("H"), array("H"), array("B")
        self._act_lens, self._act = array("I"), bytearray()
        self._counts, self._srow, self._scol, self._slen = array("H"), array("H"), array("H"), array("H")
        self._mcounts, self._mdst, self._msrc = array("H"), array("H"), array("H")
        self._key: tuple[np.ndarray, ...] | None = None

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        self._cap = cap
        new = tuple(np.empty(cap, c.dtype) for c in self._cells)
        for d, c in zip(new, self._cells):
            d[: self._p] = c[: self._p]
        self._cells = new

    def _flush_block(self) -> None:
        if self._n == 0:
            return
        cur = self._cur
        cells = tuple(c[: self._p] for c in self._cells)
        self._check_values(cells, cur["frames"] - self._n)
        args = (self._key, np.frombuffer(self._cur_row, np.uint16), np.frombuffer(self._cur_col, np.uint16),
                np.frombuffer(self._cur_vis, np.uint8), np.frombuffer(self._act_lens, np.uint32), bytes(self._act),
                np.frombuffer(self._counts, np.uint16), np.frombuffer(self._srow, np.uint16),
                np.frombuffer(self._scol, np.uint16), np.frombuffer(self._slen, np.uint16), cells,
                np.frombuffer(self._mcounts, np.uint16), np.frombuffer(self._mdst, np.uint16),
                np.frombuffer(self._msrc, np.uint16))
        codec, level = self._codec_id, self._level
        first, n = cur["frames"] - self._n, self._n
        self._enqueue(lambda: layout.pack_block(layout.KIND_FRAMES, codec, encode_block(*args), level), "block", first, n)
        self._new_block_buffers(max(1024, self._cap))

    def _enqueue(self, job, what: str, first: int, n: int) -> None:
        item = self._pool.submit(job) if self._pool else job()
        self._queue.append((item, self._cur, first, n, what))
        self._drain(wait_all=len(self._queue) > MAX_PENDING)

    def _drain(self, wait_all: bool) -> None:
        """Write finished blocks in order; with wait_all, wait for every pending block."""
        while self._queue:
            item, sess, first, n, what = self._queue[0]
            if isinstance(item, Future):
                if not (wait_all or item.done()):
                    return
                item = item.result()
            self._queue.popleft()
            offset = self._write(item)
            sess["stored"] += len(item)
            if what == "header":
                sess["header"] = (offset, len(item))
            else:
                sess["blocks"].append((offset, len(item), first, n))

    def _write(self, data: bytes) -> int:
        offset = self.bytes_written
        self._file.write(data)
        self.bytes_written += len(data)
        return offset

    # ------------------------------------------------------------------ checks
    def _coerce(self, planes: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        out = []
        for name, p, dt in zip(("chars", "fg", "bg", "attrs"), planes, (_U32, _U8, _U8, _U8)):
            p = np.asarray(p)
            if p.shape != self._shape:
                raise ShardWriteError(self.path, None, f"{name} has shape {p.shape}, expected {self._shape}")
            if p.dtype != dt:
                if p.dtype.kind not in "iu" or (p.size and (p.min() < 0 or p.max() > np.iinfo(dt).max)):
                    raise ShardWriteError(self.path, None, f"{name} must be {dt} (got {p.dtype} values out of range)")
                p = p.astype(dt)
            out.append(p)
        return tuple(out)

    def _check_values(self, planes: tuple[np.ndarray, ...], first_frame: int | None) -> None:
        """Code points <= 0x10FFFF and colour indices inside the palette (vectorised, per block)."""
        npal = len(self._cur["palette"])
        bad = None
        if planes[0].size and planes[0].max() > MAX_CODEPOINT:
            bad = f"code point above 0x10FFFF ({int(planes[0].max()):#x})"
        elif npal < 256 and planes[1].size and max(planes[1].max(), planes[2].max()) >= npal:
            bad = f"colour index {int(max(planes[1].max(), planes[2].max()))} outside the palette of {npal}"
        if bad:
            where = f"frame {self._cur['frames']}" if first_frame is None else f"frames {first_frame}.."
            raise ShardWriteError(self.path, None, f"session {self._cur['index']}, {where}: {bad}")

    def _check_open(self) -> None:
        if self._closed:
            raise ShardWriteError(self.path, None, "writer is closed")

    def _require_session(self) -> dict:
        if self._cur is None:
            raise ShardWriteError(self.path, None, "no open session: call begin_session first")
        return self._cur

    # ------------------------------------------------------------------ finish
    def close(self) -> None:
        """Write the index and footer, then atomically rename the temporary file into place."""
        if self._closed:
            return
        try:
            if self._cur is not None:
                raise ShardWriteError(self.path, None, "close with a session still open: call end_session")
            self._drain(wait_all=True)
            sessions = [_index_entry(s) for s in self._sessions]
            index = {"rows": self.rows, "cols": self.cols, "codec": self.codec, "sessions": sessions}
            raw = _packb(self.path, index)
            offset = self._write(layout.pack_block(layout.KIND_INDEX, self._codec_id, raw, self._level))
            self._write(layout.pack_footer(offset, self.bytes_written - offset))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
            self._closed = True
        except BaseException:
            self.abort()
            raise
        finally:
            if self._pool:
                self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Discard everything: close and remove the temporary file; no shard is left behind."""
        self._closed = True
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
        try:
            self._file.close()
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def _index_entry(s: dict) -> dict:
    blocks = np.array(s["blocks"], dtype=np.int64).reshape(-1, 4)
    return {
        "meta": s["meta"], "palette": s["palette"], "frames": s["frames"],
        "action_bytes": s["action_bytes"], "stored_bytes": s["stored"],
        "header": list(s["header"]),
        "block_offset": blocks[:, 0].astype("<u8").tobytes(),
        "block_length": blocks[:, 1].astype("<u4").tobytes(),
        "block_first": blocks[:, 2].astype("<u8").tobytes(),
    }


def _packb(path: str, obj: Any) -> bytes:
    try:
        return msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ShardWriteError(path, None, f"metadata is not msgpack-able (str/int/float/bool/bytes/list/dict): {exc}") from None
