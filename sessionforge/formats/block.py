"""Frame blocks: columnar encoding of a key frame plus cell-span deltas, and a vectorised decoder.

A block holds ``n`` consecutive frames of one session. Frame 0 of the block is stored
whole (the key frame); every later frame is stored as the spans of cells that
changed, ``(row, col_start, length)`` plus the new cell values. Columns are stored
one after another, and multi-byte columns byte-shuffled (all low bytes, then all
next bytes, ...), because LZMA/zstd compress such planes far better than
interleaved records. See SPEC.md section "Frame block payload".

Decoding never loops over cells or frames in Python: it builds "row versions" (a
row's content after each frame that changed it) with one forward fill
(``np.maximum.accumulate``) over a table of value indices, then gathers whole rows
into the output with one ``np.take`` per plane.
"""

from __future__ import annotations

import struct
import numpy as np

from sessionforge.formats.errors import CorruptBlockError

COUNTS = struct.Struct("<IIIII")  # n_frames, n_spans, n_cells, n_moves, action_bytes


def shuffle(a: np.ndarray) -> bytes:
    """Byte-shuffle a 1-D little-endian array: all byte-0s, then all byte-1s, ..."""
    if a.itemsize == 1:
        return a.tobytes()
    return np.ascontiguousarray(a.view(np.uint8).reshape(-1, a.itemsize).T).tobytes()


def encode_block(
    key: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    cursor_row: np.ndarray,
    cursor_col: np.ndarray,
    cursor_vis: np.ndarray,
    action_lens: np.ndarray,
    action_data: bytes,
    span_counts: np.ndarray,
    span_row: np.ndarray,
    span_col: np.ndarray,
    span_len: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    move_counts: np.ndarray,
    move_dst: np.ndarray,
    move_src: np.ndarray,
) -> bytes:
    """Serialise one block's columns into its raw (uncompressed) payload.

    key: (chars u32, fg, bg, attrs u8), each (R, C); cursor_*: (n,) u16/u16/u8;
    action_lens (n,) u32; span_counts (n,) u16; span_row/col/len (s,) u16;
    cells: (chars u32, fg, bg, attrs u8), each (c,); move_counts (n,) u16; move_dst/src (m,) u16.
    """
    n, s, c = len(cursor_row), len(span_row), len(cells[0])
    # Cursors move by small steps: delta-code them (mod 2**16) so runs of +1 compress.
    d_row = np.diff(cursor_row.astype(np.uint16), prepend=np.uint16(0)).astype(np.uint16)
    d_col = np.diff(cursor_col.astype(np.uint16), prepend=np.uint16(0)).astype(np.uint16)
    parts = [
        COUNTS.pack(n, s, c, len(move_dst), len(action_data)),
        shuffle(key[0].ravel()), key[1].tobytes(), key[2].tobytes(), key[3].tobytes(),
        shuffle(d_row), shuffle(d_col), cursor_vis.astype(np.uint8).tobytes(),
        shuffle(action_lens.astype(np.uint32)),
        shuffle(span_counts.astype(np.uint16)),
        shuffle(move_counts.astype(np.uint16)), shuffle(move_dst.astype(np.uint16)), shuffle(move_src.astype(np.uint16)),
        shuffle(span_row.astype(np.uint16)), shuffle(span_col.astype(np.uint16)), shuffle(span_len.astype(np.uint16)),
        shuffle(cells[0].astype(np.uint32)), cells[1].tobytes(), cells[2].tobytes(), cells[3].tobytes(),
        bytes(action_data),
    ]
    return b"".join(parts)


class _Cursor:
    """Reads consecutive columns out of a raw payload, checking lengths."""

    def __init__(self, raw: bytes, path: str, offset: int) -> None:
        self.raw, self.pos, self.path, self.offset = raw, COUNTS.size, path, offset

    def take(self, dtype: type, count: int) -> np.ndarray:
        item = np.dtype(dtype).itemsize
        size = item * count
        if self.pos + size > len(self.raw):
            raise CorruptBlockError(self.path, self.offset, "frame block payload shorter than its counts say")
        buf = np.frombuffer(self.raw, np.uint8, size, self.pos)
        self.pos += size
        if item == 1:
            return buf.view(dtype)
        return np.ascontiguousarray(buf.reshape(item, count).T).view(dtype).reshape(count)


SUB = 256  # frames per decode step: keeps the row-version tables cache-resident


class DecodedBlock:
    """A parsed frame block that materialises frames on demand, ``SUB`` frames at a time.

    Row versions (a row's content after a frame that changed it) are built per step of
    ``SUB`` frames as a table of value indices, forward-filled down each row's
    versions, starting from the rows' state before the step (``carry``); the working
    set stays in cache however long the block is. Moved rows (scrolling) only relabel
    which version a row shows; a step is cut into segments at frames with moves so a
    row edited after a move starts from the moved content. Sequential reads reuse the
    last step; reading backwards restarts from the key frame.
    """

    def __init__(self, rows: int, cols: int, n: int, values: tuple[np.ndarray, ...], counts: np.ndarray,
                 span_row: np.ndarray, span_col: np.ndarray, span_len: np.ndarray, move_counts: np.ndarray,
                 move_dst: np.ndarray, move_src: np.ndarray, cursor: np.ndarray, action_offsets: np.ndarray,
                 action_data: bytes) -> None:
        self.rows, self.cols, self.n = rows, cols, n
        self.values = values  # each (R*C + c,): key cells then span cells, per plane
        self.cursor, self.action_offsets, self.action_data = cursor, action_offsets, action_data
        self._span_row, self._span_col, self._span_len = span_row, span_col, span_len
        self._span_at = np.zeros(n + 1, np.int64)  # first span of each frame
        np.cumsum(counts, out=self._span_at[1:])
        self._counts = counts
        self._cell_at = np.zeros(len(span_len) + 1, np.int64)  # first cell of each span
        np.cumsum(span_len, out=self._cell_at[1:])
        self._move_at = np.zeros(n + 1, np.int64)  # first move of each frame
        np.cumsum(move_counts, out=self._move_at[1:])
        self._move_frames = np.flatnonzero(move_counts)
        self._move_dst, self._move_src = move_dst.astype(np.intp), move_src.astype(np.intp)
        self._big = len(values[0])  # R*C + c: larger than any value index
        self._it = np.int32 if rows * self._big < 2**31 - 1 else np.int64
        self._restart()

    def _restart(self) -> None:
        self._step = -1
        self._carry = np.arange(self.rows * self.cols, dtype=self._it).reshape(self.rows, self.cols)

    def _advance(self) -> None:
        """Build the row versions of the next step of SUB frames."""
        R, C, big, it = self.rows, self.cols, self._big, self._it
        self._step += 1
        f0 = self._step * SUB
        f1 = min(f0 + SUB, self.n)
        cap = R + 2 * int(self._span_at[f1] - self._span_at[f0])  # versions: carry + <= 2 per span
        src_all = np.empty((cap, C), it)  # (cap, C): value index of every cell of every version
        src_all[:R] = self._carry
        nv = R
        carry_ver = np.arange(R, dtype=np.intp)  # (R,) version shown by each row
        version = np.empty((f1 - f0, R), np.intp)  # (k, R)
        mf = self._move_frames[(self._move_frames >= f0) & (self._move_frames < f1)].tolist()
        bounds = sorted(set([f0] + mf)) + [f1]
        for g0, g1 in zip(bounds[:-1], bounds[1:]):
            if self._move_at[g0 + 1] > self._move_at[g0]:  # rows moved at frame g0 (before its spans)
                m0, m1 = int(self._move_at[g0]), int(self._move_at[g0 + 1])
                old = carry_ver.copy()
                carry_ver[self._move_dst[m0:m1]] = old[self._move_src[m0:m1]]
            s0, s1 = int(self._span_at[g0]), int(self._span_at[g1])
            if s1 == s0:
                version[g0 - f0 : g1 - f0] = carry_ver
                continue
            kk = g1 - g0
            rows = self._span_row[s0:s1]
            lens = self._span_len[s0:s1]
            frame = np.repeat(np.arange(1, kk + 1, dtype=np.int64), self._counts[g0:g1])
            edited = np.unique(rows)
            # Versions sorted by (row, frame); frame 0 = the edited row's content before the segment.
            keys = np.concatenate([edited * (kk + 1), rows * (kk + 1) + frame])
            uniq, inv = np.unique(keys, return_inverse=True)
            V = len(uniq)
            v_row, v_frame = uniq // (kk + 1), uniq % (kk + 1)
            # -1 = inherit from the row's previous version; the per-row offset (row * big) stops
            # one row's values leaking into the next row's versions during the forward fill.
            seg = np.full((V, C), -1, it)  # (V, C)
            seg[inv[: len(edited)]] = src_all[carry_ver[edited]] + (edited * big).astype(it)[:, None]
            c0, c1 = int(self._cell_at[s0]), int(self._cell_at[s1])
            starts = self._cell_at[s0:s1] - c0
            cell_v = np.repeat(inv[len(edited) :], lens)  # (c,)
            cell_col = np.arange(c1 - c0, dtype=np.int64) + np.repeat(self._span_col[s0:s1] - starts, lens)
            seg.reshape(-1)[cell_v * C + cell_col] = (R * C + c0 + np.arange(c1 - c0, dtype=np.int64)
                                                      + np.repeat(rows * big, lens))
            np.maximum.accumulate(seg, axis=0, out=seg)
            seg -= (v_row * big).astype(it)[:, None]
            src_all[nv : nv + V] = seg
            vt = np.full((kk + 1, R), -1, np.intp)  # (kk + 1, R)
            vt[0] = carry_ver
            vt[v_frame, v_row] = nv + np.arange(V, dtype=np.intp)
            np.maximum.accumulate(vt, axis=0, out=vt)
            version[g0 - f0 : g1 - f0] = vt[1:]
            carry_ver = vt[-1].copy()
            nv += V
        src_all = src_all[:nv]
        self._planes = tuple(np.take(v, src_all, mode="clip") for v in self.values)  # each (nv, C)
        self._version = version
        self._carry = src_all[carry_ver]  # (R, C): state after the step's last frame

    def fill(self, out_planes: tuple[np.ndarray, ...], pos: int, a: int, b: int) -> None:
        """Write frames [a, b) of this block into ``out_planes[k][pos : pos + b - a]`` (each (T, R, C))."""
        C = self.cols
        if a < self._step * SUB:  # going backwards: restart from the key frame
            self._restart()
        while a < b:
            while (self._step + 1) * SUB <= a:
                self._advance()
            f0 = self._step * SUB
            z = min(b, f0 + SUB)
            idx = self._version[a - f0 : z - f0].ravel()  # ((z-a) * R,)
            for src, dst in zip(self._planes, out_planes):
                np.take(src, idx, axis=0, out=dst[pos : pos + z - a].reshape(-1, C), mode="clip")
            pos += z - a
            a = z


def decode_block(raw: bytes, rows: int, cols: int, path: str = "", offset: int = 0) -> DecodedBlock:
    """Parse and validate a frame block's raw payload (already checksummed and inflated)."""
    if len(raw) < COUNTS.size:
        raise CorruptBlockError(path, offset, "frame block payload too short")
    n, s, c, m, a_len = COUNTS.unpack_from(raw)
    R, C = rows, cols
    if n == 0:
        raise CorruptBlockError(path, offset, "frame block holds no frames")
    rd = _Cursor(raw, path, offset)
    key = (rd.take(np.uint32, R * C), rd.take(np.uint8, R * C), rd.take(np.uint8, R * C), rd.take(np.uint8, R * C))
    cur_row = np.cumsum(rd.take(np.uint16, n), dtype=np.uint16)
    cur_col = np.cumsum(rd.take(np.uint16, n), dtype=np.uint16)
    cur_vis = rd.take(np.uint8, n)
    act_lens = rd.take(np.uint32, n)
    counts = rd.take(np.uint16, n)
    move_counts, move_dst, move_src = rd.take(np.uint16, n), rd.take(np.uint16, m), rd.take(np.uint16, m)
    span_row = rd.take(np.uint16, s).astype(np.int64)
    span_col = rd.take(np.uint16, s).astype(np.int64)
    span_len = rd.take(np.uint16, s).astype(np.int64)
    cells = (rd.take(np.uint32, c), rd.take(np.uint8, c), rd.take(np.uint8, c), rd.take(np.uint8, c))
    if rd.pos + a_len != len(raw):
        raise CorruptBlockError(path, offset, "frame block payload length does not match its counts")
    action_data = raw[rd.pos :]
    if int(counts.sum(dtype=np.int64)) != s or int(span_len.sum()) != c or int(move_counts.sum(dtype=np.int64)) != m:
        raise CorruptBlockError(path, offset, "frame block span or move counts are inconsistent")
    if s and (span_row.max() >= R or (span_col + span_len).max() > C or span_len.min() < 1):
        raise CorruptBlockError(path, offset, "frame block has a span outside the frame")
    if m and (move_dst.max() >= R or move_src.max() >= R):
        raise CorruptBlockError(path, offset, "frame block moves a row outside the frame")
    if m:  # a row may be the destination of at most one move per frame
        frame_of = np.repeat(np.arange(n, dtype=np.int64), move_counts)
        if len(np.unique(frame_of * R + move_dst)) != m:
            raise CorruptBlockError(path, offset, "frame block moves two rows onto one")
    if int(act_lens.sum(dtype=np.int64)) != a_len:
        raise CorruptBlockError(path, offset, "frame block action lengths do not add up")
    cursor = np.empty((n, 3), np.int32)
    cursor[:, 0], cursor[:, 1], cursor[:, 2] = cur_row, cur_col, cur_vis
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(act_lens, out=offsets[1:])
    values = tuple(np.concatenate([k, v]) for k, v in zip(key, cells))
    return DecodedBlock(R, C, n, values, counts, span_row, span_col, span_len, move_counts, move_dst, move_src,
                        cursor, offsets, action_data)
