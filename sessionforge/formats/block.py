"""Frame blocks: columnar encoding of a key frame plus cell-span deltas, and a vectorised decoder.

A block holds ``n`` consecutive frames of one session. Frame 0 of the block is stored
whole (the key frame); every later frame is stored as the spans of cells that
changed, ``(row, col_start, length)`` plus the new cell values. Columns are stored
one after another, and multi-byte columns byte-shuffled (all low bytes, then all
next bytes, ...), because LZMA/zstd compress such planes far better than
interleaved records. See SPEC.md section "Frame block payload".

Decoding never loops over cells or frames in Python: it builds "row versions" (a
row's content after each frame that changed it) with one forward fill
(``np.maximum.accumulate``) over a table of value indices, gathers each plane's
row versions with one ``np.take``, then whole rows into the output, one ``np.take`` per plane.
With numba installed (``compiled=True``, see :func:`resolve_decoder`) a block is instead
materialised frame by frame by compiled loops in :mod:`block_jit`: same frames, ~2x faster.
"""

from __future__ import annotations

import struct

import numpy as np

from sessionforge.formats.compiled import use_compiled
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


def resolve_decoder(decoder: str) -> bool:
    """Whether to decode frames with the compiled (numba) decoder (see :mod:`compiled`)."""
    return use_compiled(decoder, "sessionforge.formats.block_jit", "decoder")


SUB = 256  # frames per decode step: keeps the row-version tables cache-resident


class DecodedBlock:
    """A parsed frame block that materialises frames on demand, ``SUB`` frames at a time.

    Row versions (a row's content after a frame that changed it) are built per step of
    ``SUB`` frames as a table of value indices, forward-filled down each row's
    versions, starting from the rows' state before the step (``carry``); the working
    set stays in cache however long the block is. Moved rows (scrolling) only relabel
    which version a row shows; a row edited after a move starts a new lineage from the
    moved content (see ``_advance``). Sequential reads reuse the last step; reading
    backwards restarts from the key frame.
    """

    def __init__(self, rows: int, cols: int, n: int, values: tuple[np.ndarray, ...], counts: np.ndarray,
                 span_row: np.ndarray, span_col: np.ndarray, span_len: np.ndarray, move_counts: np.ndarray,
                 move_dst: np.ndarray, move_src: np.ndarray, cursor: np.ndarray, action_offsets: np.ndarray,
                 action_data: bytes, compiled: bool = False) -> None:
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
        self._move_dst, self._move_src = move_dst.astype(np.intp), move_src.astype(np.intp)
        self._big = len(values[0])  # R*C + c: larger than any value index
        self._it = np.int32 if rows * self._big < 2**31 - 1 else np.int64
        self._restart()
        self._jit = None
        if compiled:
            from sessionforge.formats.block_jit import JitPlanes

            self._jit = JitPlanes(rows, cols, values, self._span_at, span_row, span_col, self._cell_at, self._move_at,
                                  self._move_dst, self._move_src)

    def _restart(self) -> None:
        self._step = -1
        self._carry = np.arange(self.rows * self.cols, dtype=self._it).reshape(self.rows, self.cols)

    def _advance(self) -> None:
        """Build the row versions of the next step of SUB frames.

        A *lineage* is a row's run of edits between two moves onto it (an "epoch"); its
        first version (the head) copies its base: the row's carried state for epoch 0,
        else the version the move's source row showed just before the move. Which
        version each row shows is found by pointer jumping (no loop over frames); the
        cell contents of all lineages are then forward-filled in one pass; cells still
        showing their lineage's head take the base row's, resolved on the small
        (lineages, C) table of head rows, in rounds only where a base was built in this step.
        """
        R, C, big = self.rows, self.cols, self._big
        self._step += 1
        f0 = self._step * SUB
        f1 = min(f0 + SUB, self.n)
        k = f1 - f0
        s0, s1 = int(self._span_at[f0]), int(self._span_at[f1])
        m0, m1 = int(self._move_at[f0]), int(self._move_at[f1])
        rows = self._span_row[s0:s1]
        sf = np.repeat(np.arange(1, k + 1, dtype=np.int64), self._counts[f0:f1])  # (s,) frame in step, 1-based
        mdst, msrc = self._move_dst[m0:m1], self._move_src[m0:m1]
        mf = np.repeat(np.arange(1, k + 1, dtype=np.int64), np.diff(self._move_at[f0 : f1 + 1]))  # (m,)
        # Epoch of each span: moves onto its row at or before its frame (moves precede spans).
        if m1 > m0:
            mkey = np.sort(mdst * (k + 1) + mf)
            epoch = (np.searchsorted(mkey, rows * (k + 1) + sf, "right")
                     - np.searchsorted(mkey, rows * (k + 1), "left"))
        else:
            epoch = np.zeros(len(rows), np.int64)
        n_ep = m1 - m0 + 1  # > any epoch number, so (row, epoch) keys never collide
        ul, lin = np.unique(rows * n_ep + epoch, return_inverse=True)  # lineages and each span's lineage
        L = len(ul)
        keys = np.concatenate([np.arange(L, dtype=np.int64) * (k + 1), lin * (k + 1) + sf])  # heads, then spans
        uniq, inv = np.unique(keys, return_inverse=True)
        V = len(uniq)
        v_lin, v_frame = uniq // (k + 1), uniq % (k + 1)
        # Which version each row shows at each frame, by pointer jumping over (frame, row)
        # cells: a cell points at the cell it copies (same row one frame back, or the
        # move's source row one frame back) until it reaches one that holds a version
        # (frame 0 = carried rows 0..R-1, or an edit). Chains are <= k + 1 long, so
        # ceil(log2(k + 1)) doublings resolve them all - no loop over frames.
        K1 = k + 1
        ptr = np.arange(K1 * R, dtype=np.int64).reshape(K1, R) - R  # (K1, R): same row, one frame back
        ptr[0] = np.arange(R)
        val = np.zeros(K1 * R, np.int64)
        val[:R] = np.arange(R)
        if m1 > m0:
            ptr[mf, mdst] = (mf - 1) * R + msrc
        edit = np.flatnonzero(v_frame > 0)
        e_cell = v_frame[edit] * R + ul[v_lin[edit]] // n_ep  # an edit at (frame, row) wins over a move
        ptr.reshape(-1)[e_cell] = e_cell
        val[e_cell] = R + edit
        ptr = ptr.reshape(-1)
        for _ in range(max(1, int(K1 - 1).bit_length())):
            ptr = ptr[ptr]
        shown = val[ptr].reshape(K1, R)  # (K1, R) version shown; row 0 = before the step
        base = ul // n_ep  # (L,) base version id of each lineage; epoch-0 lineages start from the carried row
        if m1 > m0:
            # The e-th move onto a row (in time order) starts that row's epoch e, from what
            # the source row showed just before the move.
            order = np.lexsort((mf, mdst))
            first = np.searchsorted(mdst[order], mdst[order], "left")
            mep = np.empty(m1 - m0, np.int64)
            mep[order] = np.arange(m1 - m0) - first + 1
            pos = np.searchsorted(ul, mdst * n_ep + mep)
            hit = pos < L
            hit[hit] = ul[pos[hit]] == (mdst * n_ep + mep)[hit]
            base[pos[hit]] = shown[mf[hit] - 1, msrc[hit]]
        # Cell sources of every version, in one forward fill for all lineages: a lineage's
        # head is a marker ("from the base row") and its spans' value indices (+1) follow it;
        # the offset lineage * bigp keeps lineages apart in the running maximum. Cells still
        # showing the marker afterwards come from the base row, resolved below on the small
        # (L, C) table of head rows, in rounds only where a base was built in this step.
        depth = np.zeros(L, np.int64)
        for _ in range(L):
            nd = np.where(base >= R, depth[v_lin[np.maximum(base - R, 0)]] + 1, 0)
            if np.array_equal(nd, depth):
                break
            depth = nd
        lens = self._span_len[s0:s1]
        c0 = int(self._cell_at[s0])
        cell_v = np.repeat(inv[L:], lens)  # (c,) version of each cell
        cell_col = (np.arange(len(cell_v), dtype=np.int64)
                    + np.repeat(self._span_col[s0:s1] - (self._cell_at[s0:s1] - c0), lens))
        bigp = big + 1
        it = self._it if (L + 1) * bigp < 2**31 - 1 else np.int64
        src_all = np.empty((R + V, C), it)  # (R + V, C) value index of every cell of every version
        src_all[:R] = self._carry
        seg = src_all[R:]  # (V, C)
        seg.fill(-1)  # below every marker: inherit from the previous version
        lin_off = (np.arange(L, dtype=np.int64) * bigp).astype(it)
        head_v = np.flatnonzero(v_frame == 0)  # (L,) version of each lineage's head (heads come first)
        seg[head_v] = lin_off[:, None]
        # maximum.at: where spans of one frame overlap, the later span (larger index) wins
        np.maximum.at(seg.reshape(-1), cell_v * C + cell_col,
                      (R * C + c0 + 1 + np.arange(len(cell_v), dtype=np.int64) + v_lin[cell_v] * bigp).astype(it))
        np.maximum.accumulate(seg, axis=0, out=seg)
        seg -= (lin_off + 1)[v_lin][:, None]  # value index, or -1 where the base row shows through
        heads = np.empty((L, C), it)  # (L, C) each lineage's base row, resolved
        for d in range(int(depth.max(initial=-1)) + 1):
            lins = np.flatnonzero(depth == d) if d else np.flatnonzero(base < R)
            if d == 0:
                heads[lins] = src_all[base[lins]]
                continue
            bv = base[lins] - R
            row = seg[bv]  # (n, C)
            heads[lins] = np.where(row < 0, heads[v_lin[bv]], row)
        np.copyto(seg, np.take(heads, v_lin, axis=0), where=seg < 0)
        # Indices converted to intp once (take would convert them on every call); they are all
        # in range, so mode="wrap" (the cheapest mode) never wraps anything.
        src = src_all.astype(np.intp)
        self._planes = tuple(np.take(v, src, mode="wrap") for v in self.values)  # each (R + V, C)
        version = shown[1:].astype(np.intp)  # (k, R)
        self._version = version
        self._carry = src_all[version[-1]]  # (R, C): state after the step's last frame

    def fill(self, out_planes: tuple[np.ndarray, ...], pos: int, a: int, b: int) -> None:
        """Write frames [a, b) of this block into ``out_planes[k][pos : pos + b - a]`` (each (T, R, C))."""
        if self._jit is not None:
            return self._jit.fill(out_planes, pos, a, b)
        if a < self._step * SUB:  # going backwards: restart from the key frame
            self._restart()
        try:
            self._fill(out_planes, pos, a, b)
        except BaseException:
            self._restart()  # a step may be half built: start over next time
            raise

    def _fill(self, out_planes: tuple[np.ndarray, ...], pos: int, a: int, b: int) -> None:
        C = self.cols
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


def block_actions(raw: bytes, rows: int, cols: int, path: str = "", offset: int = 0) -> tuple[int, np.ndarray, bytes]:
    """A frame block's actions only: ``(n, action_offsets (n + 1,) int64, action_data)``.

    Reads the count record, the action-length column and the trailing action bytes; the
    cell columns are never parsed (no frame planes). Checks what the actions rely on: the
    payload length equals the sum of the column sizes and the action lengths add up.
    """
    if len(raw) < COUNTS.size:
        raise CorruptBlockError(path, offset, "frame block payload too short")
    n, s, c, m, a_len = COUNTS.unpack_from(raw)
    if n == 0:
        raise CorruptBlockError(path, offset, "frame block holds no frames")
    # Columns 1..19 in SPEC order: 7 bytes per key cell, 2+2+1+4+2+2 per frame, 4 per move,
    # 6 per span, 7 per span cell; the action bytes (column 20) end the payload.
    at = COUNTS.size + 7 * rows * cols + 5 * n  # column 8: action lengths
    if COUNTS.size + 7 * rows * cols + 13 * n + 4 * m + 6 * s + 7 * c + a_len != len(raw):
        raise CorruptBlockError(path, offset, "frame block payload length does not match its counts")
    lens = np.frombuffer(raw, np.uint8, 4 * n, at).reshape(4, n).T.copy().view("<u4").reshape(n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    if int(offsets[-1]) != a_len:
        raise CorruptBlockError(path, offset, "frame block action lengths do not add up")
    return n, offsets, raw[len(raw) - a_len :]


def decode_block(raw: bytes, rows: int, cols: int, path: str = "", offset: int = 0,
                 compiled: bool = False) -> DecodedBlock:
    """Parse and validate a frame block's raw payload (already checksummed and inflated).

    ``compiled``: materialise frames with the numba decoder (:mod:`block_jit`; see
    :func:`resolve_decoder`) instead of the numpy row-version one; the frames are identical.
    """
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
                        cursor, offsets, action_data, compiled)
