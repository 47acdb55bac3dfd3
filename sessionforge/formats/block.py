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
from dataclasses import dataclass

import numpy as np

from sessionforge.formats.errors import CorruptBlockError

COUNTS = struct.Struct("<IIII")  # n_frames, n_spans, n_cells, action_bytes


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
) -> bytes:
    """Serialise one block's columns into its raw (uncompressed) payload.

    key: (chars u32, fg, bg, attrs u8), each (R, C); cursor_*: (n,) u16/u16/u8;
    action_lens (n,) u32; span_counts (n,) u16; span_row/col/len (s,) u16;
    cells: (chars u32, fg, bg, attrs u8), each (c,).
    """
    n, s, c = len(cursor_row), len(span_row), len(cells[0])
    # Cursors move by small steps: delta-code them (mod 2**16) so runs of +1 compress.
    d_row = np.diff(cursor_row.astype(np.uint16), prepend=np.uint16(0)).astype(np.uint16)
    d_col = np.diff(cursor_col.astype(np.uint16), prepend=np.uint16(0)).astype(np.uint16)
    parts = [
        COUNTS.pack(n, s, c, len(action_data)),
        shuffle(key[0].ravel()), key[1].tobytes(), key[2].tobytes(), key[3].tobytes(),
        shuffle(d_row), shuffle(d_col), cursor_vis.astype(np.uint8).tobytes(),
        shuffle(action_lens.astype(np.uint32)),
        shuffle(span_counts.astype(np.uint16)),
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


@dataclass
class DecodedBlock:
    """A decoded frame block: row versions plus, per frame, which version each row shows."""

    rows: int
    cols: int
    n: int
    planes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # each (V, C): chars, fg, bg, attrs
    version: np.ndarray  # (n, R) int64: row version shown by row r in frame t
    cursor: np.ndarray  # (n, 3) int32
    action_offsets: np.ndarray  # (n + 1,) int64
    action_data: bytes

    def fill(self, out_planes: tuple[np.ndarray, ...], pos: int, a: int, b: int) -> None:
        """Write frames [a, b) of this block into ``out_planes[k][pos : pos + b - a]`` (each (T, R, C))."""
        idx = self.version[a:b].ravel()  # ((b-a) * R,)
        for src, dst in zip(self.planes, out_planes):
            np.take(src, idx, axis=0, out=dst[pos : pos + b - a].reshape(-1, self.cols))


def decode_block(raw: bytes, rows: int, cols: int, path: str = "", offset: int = 0) -> DecodedBlock:
    """Decode a frame block's raw payload (already checksummed and inflated)."""
    if len(raw) < COUNTS.size:
        raise CorruptBlockError(path, offset, "frame block payload too short")
    n, s, c, a_len = COUNTS.unpack_from(raw)
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
    span_row = rd.take(np.uint16, s).astype(np.int64)
    span_col = rd.take(np.uint16, s).astype(np.int64)
    span_len = rd.take(np.uint16, s).astype(np.int64)
    cells = (rd.take(np.uint32, c), rd.take(np.uint8, c), rd.take(np.uint8, c), rd.take(np.uint8, c))
    if rd.pos + a_len != len(raw):
        raise CorruptBlockError(path, offset, "frame block payload length does not match its counts")
    action_data = raw[rd.pos :]
    if int(counts.sum(dtype=np.int64)) != s or int(span_len.sum()) != c:
        raise CorruptBlockError(path, offset, "frame block span counts are inconsistent")
    if s and (span_row.max() >= R or (span_col + span_len).max() > C or span_len.min() < 1):
        raise CorruptBlockError(path, offset, "frame block has a span outside the frame")
    if int(act_lens.sum(dtype=np.int64)) != a_len:
        raise CorruptBlockError(path, offset, "frame block action lengths do not add up")

    # Row versions, sorted by (row, frame): key rows are the versions at frame 0.
    span_frame = np.repeat(np.arange(n, dtype=np.int64), counts)  # (s,)
    keys = np.concatenate([np.arange(R, dtype=np.int64) * n, span_row * n + span_frame])
    uniq, inv = np.unique(keys, return_inverse=True)
    V = len(uniq)
    v_row, v_frame = uniq // n, uniq % n
    # src[v, col] = index into concat(key cells, span cells) of the value shown; -1 = inherit.
    big = R * C + c
    src = np.full((V, C), -1, np.int64)  # (V, C)
    src[inv[:R]] = np.arange(R * C, dtype=np.int64).reshape(R, C) + (np.arange(R, dtype=np.int64) * big)[:, None]
    if c:
        starts = np.cumsum(span_len) - span_len
        cell_v = np.repeat(inv[R:], span_len)  # (c,)
        cell_col = np.arange(c, dtype=np.int64) + np.repeat(span_col - starts, span_len)
        src[cell_v, cell_col] = R * C + np.arange(c, dtype=np.int64) + np.repeat(span_row * big, span_len)
    # Forward fill down each row's run of versions; the per-row offset (row * big) keeps
    # one row's later values from leaking into the next row's key version.
    np.maximum.accumulate(src, axis=0, out=src)
    src -= (v_row * big)[:, None]
    planes = tuple(np.concatenate([k, v])[src] for k, v in zip(key, cells))  # each (V, C)

    version = np.full((n, R), -1, np.int64)  # (n, R)
    version[v_frame, v_row] = np.arange(V, dtype=np.int64)
    np.maximum.accumulate(version, axis=0, out=version)

    cursor = np.empty((n, 3), np.int32)
    cursor[:, 0], cursor[:, 1], cursor[:, 2] = cur_row, cur_col, cur_vis
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(act_lens, out=offsets[1:])
    return DecodedBlock(R, C, n, planes, version, cursor, offsets, action_data)
