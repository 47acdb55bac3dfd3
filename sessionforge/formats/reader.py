"""ShardReader: open a termstream shard, list its sessions, decode frames into numpy.

Opening reads the file header, the footer and the index (three reads); after that
any frame is one block read away: the index gives each block's offset and first
frame, so ``read_frames`` seeks straight to the block holding ``start`` (whose key
frame starts it) and decodes forward. The last decoded block is cached, so
``iter_frames`` with chunks smaller than a block decodes every block once.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import msgpack
import numpy as np

from sessionforge.formats import layout
from sessionforge.formats.block import DecodedBlock, block_actions, decode_block, resolve_decoder
from sessionforge.formats.compiled import check_choice
from sessionforge.formats.errors import BadIndexError, CorruptBlockError, FormatError, TruncatedError
from sessionforge.formats.frames import Frames, SessionInfo, palette_rgb


class _Session:
    """Reader-side index entry: SessionInfo plus the block table."""

    def __init__(self, info: SessionInfo, header: int, offsets: np.ndarray, lengths: np.ndarray,
                 firsts: np.ndarray) -> None:
        self.info, self.header, self.offsets, self.lengths, self.firsts = info, header, offsets, lengths, firsts
        self.palette_rgb = palette_rgb(info.palette)


class ShardReader:
    """A termstream shard opened for reading. Use :func:`open_shard`.

    ``max_block_bytes`` bounds how large a block may claim to inflate (decompression
    bomb guard); a block above it raises :class:`BlockTooLargeError`. A reader caches
    its last decoded block and is not thread-safe: open one reader per thread or
    process (opening costs three small reads).

    ``decoder``: ``"auto"`` (default: compiled when numba is installed), ``"compiled"`` or
    ``"numpy"``; both give identical frames, the compiled one ~2x faster. ``.decoder`` says
    which one this reader uses.
    """

    def __init__(self, path: str | os.PathLike, *, max_block_bytes: int = layout.DEFAULT_MAX_BLOCK_RAW,
                 decoder: str = "auto") -> None:
        self.path = os.fspath(path)
        self._max = max_block_bytes
        check_choice(decoder, "decoder")  # before opening: a bad choice leaks no descriptor
        self._decoder_choice, self._compiled = decoder, None  # resolved on first decode: numba takes ~0.3 s to import
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            self._size = os.fstat(self._fd).st_size
            self.version_minor, self.rows, self.cols, codec = layout.unpack_file_header(
                self.path, self._pread(layout.FILE_HEADER.size, 0)
            )
            self.version = f"{layout.VERSION_MAJOR}.{self.version_minor}"
            self.codec = layout.CODEC_NAMES[codec]
            footer = self._pread(layout.FOOTER.size, max(0, self._size - layout.FOOTER.size))
            index_offset, _ = layout.unpack_footer(self.path, footer, self._size)
            self._index_offset = index_offset
            raw = self._read_block(index_offset, layout.KIND_INDEX)
            self._sessions = self._parse_index(raw, index_offset)
        except BaseException:
            self.close()
            raise
        self.sessions: list[SessionInfo] = [s.info for s in self._sessions]
        self._cache: tuple[tuple[int, int], DecodedBlock] | None = None
        self._acache: tuple[tuple[int, int], tuple[np.ndarray, bytes]] | None = None

    @property
    def decoder(self) -> str:
        """The frame decoder this reader uses: ``"compiled"`` or ``"numpy"``."""
        if self._compiled is None:
            self._compiled = resolve_decoder(self._decoder_choice)
        return "compiled" if self._compiled else "numpy"

    # ------------------------------------------------------------------ low level
    def _pread(self, n: int, offset: int) -> bytes:
        return os.pread(self._fd, n, offset)

    def _read_block(self, offset: int, kind: int) -> bytes:
        """Read, checksum and inflate the block at ``offset``; returns its raw payload."""
        head = self._pread(layout.BLOCK_HEADER.size, offset)
        k, codec, stored_len, raw_len, crc = layout.unpack_block_header(self.path, offset, head, self._size, self._max)
        stored = self._pread(stored_len, offset + layout.BLOCK_HEADER.size)
        if len(stored) != stored_len:
            raise TruncatedError(self.path, offset, "file ends inside a block")
        raw = layout.check_and_inflate(self.path, offset, head, stored, codec, raw_len, crc)
        if k != kind:
            raise CorruptBlockError(
                self.path, offset, f"expected a {layout.KINDS[kind]} block here, found kind {k}"
            )
        return raw

    def _parse_index(self, raw: bytes, at: int) -> list[_Session]:
        def bad(cause: str) -> BadIndexError:
            return BadIndexError(self.path, at, f"index: {cause}")

        try:
            index = msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise bad(f"not valid msgpack ({exc})") from None
        if not isinstance(index, dict) or not isinstance(index.get("sessions"), list):
            raise bad("expected a map with a 'sessions' list")
        if index.get("rows") != self.rows or index.get("cols") != self.cols:
            raise bad("frame size differs from the file header")
        out = []
        for i, s in enumerate(index["sessions"]):
            try:
                meta, pal, frames = s["meta"], list(s["palette"]), int(s["frames"])
                offsets = np.frombuffer(s["block_offset"], "<u8").astype(np.int64)
                lengths = np.frombuffer(s["block_length"], "<u4").astype(np.int64)
                firsts = np.frombuffer(s["block_first"], "<u8").astype(np.int64)
                info = SessionInfo(i, meta, pal, frames, int(s["action_bytes"]), int(s["stored_bytes"]))
                h_off, h_len = (int(x) for x in s["header"])
            except (KeyError, TypeError, ValueError) as exc:
                raise bad(f"session {i} entry malformed ({exc!r})") from None
            if not isinstance(meta, dict) or len(pal) > 256 or not all(isinstance(c, int) for c in pal):
                raise bad(f"session {i} meta or palette malformed")
            if not (len(offsets) == len(lengths) == len(firsts)) or (frames > 0) != (len(firsts) > 0):
                raise bad(f"session {i} block table malformed")
            ends = offsets + lengths
            if len(firsts) and (
                firsts[0] != 0 or np.any(np.diff(firsts) <= 0) or firsts[-1] >= frames
                or offsets.min() < layout.FILE_HEADER.size or ends.max() > self._index_offset
                or lengths.min() < layout.BLOCK_HEADER.size
            ):
                raise bad(f"session {i} block table points outside the data or is out of order")
            if not (layout.FILE_HEADER.size <= h_off and h_off + h_len <= self._index_offset):
                raise bad(f"session {i} header offset out of range")
            out.append(_Session(info, h_off, offsets, lengths, firsts))
        return out

    def _block(self, sess: int, b: int) -> DecodedBlock:
        if self._cache is not None and self._cache[0] == (sess, b):
            return self._cache[1]
        s = self._sessions[sess]
        offset = int(s.offsets[b])
        raw = self._read_block(offset, layout.KIND_FRAMES)
        blk = decode_block(raw, self.rows, self.cols, self.path, offset, compiled=self.decoder == "compiled")
        end = int(s.firsts[b + 1]) if b + 1 < len(s.firsts) else s.info.frames
        if blk.n != end - int(s.firsts[b]):
            raise BadIndexError(self.path, offset, f"block holds {blk.n} frames, the index says {end - int(s.firsts[b])}")
        self._cache = ((sess, b), blk)
        return blk

    def _block_actions(self, sess: int, b: int) -> tuple[np.ndarray, bytes]:
        """(action_offsets, action_data) of block ``b``, without decoding its cells."""
        if self._cache is not None and self._cache[0] == (sess, b):
            blk = self._cache[1]
            return blk.action_offsets, blk.action_data
        if self._acache is not None and self._acache[0] == (sess, b):
            return self._acache[1]
        s = self._sessions[sess]
        offset = int(s.offsets[b])
        raw = self._read_block(offset, layout.KIND_FRAMES)
        n, offsets, data = block_actions(raw, self.rows, self.cols, self.path, offset)
        end = int(s.firsts[b + 1]) if b + 1 < len(s.firsts) else s.info.frames
        if n != end - int(s.firsts[b]):
            raise BadIndexError(self.path, offset, f"block holds {n} frames, the index says {end - int(s.firsts[b])}")
        self._acache = ((sess, b), (offsets, data))
        return offsets, data

    def _session(self, i: int) -> _Session:
        if not 0 <= i < len(self._sessions):
            raise IndexError(f"session {i} out of range (shard has {len(self._sessions)})")
        return self._sessions[i]

    # ------------------------------------------------------------------ public
    def session_header(self, i: int) -> dict[str, Any]:
        """The session header block as written at ``begin_session`` (meta before extra_meta, palette)."""
        at = self._session(i).header
        raw = self._read_block(at, layout.KIND_SESSION)
        try:
            return msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise CorruptBlockError(self.path, at, f"session header: {exc}") from None

    def read_session(self, i: int) -> Frames:
        """Every frame of session ``i``."""
        return self.read_frames(i, 0, self._session(i).info.frames)

    def read_frames(self, i: int, start: int, stop: int, out: Frames | None = None) -> Frames:
        """Frames [start, stop) of session ``i``; decodes from the key frame of the block holding ``start``.

        ``out``: buffers from :meth:`Frames.empty` with at least ``stop - start`` frames, reused
        across calls (the returned arrays are views of its first ``stop - start`` frames).
        """
        s = self._session(i)
        total = s.info.frames
        if not 0 <= start <= stop <= total:
            raise IndexError(f"frames [{start}, {stop}) out of range for session {i} with {total} frames")
        T = stop - start
        if out is None:
            out = Frames.empty(T, self.rows, self.cols)
        elif out.chars.shape[0] < T or out.chars.shape[1:] != (self.rows, self.cols):
            raise ValueError(f"out holds {out.chars.shape}, need at least ({T}, {self.rows}, {self.cols})")
        elif (out.chars.dtype != np.uint32 or out.fg.dtype != np.uint8 or out.bg.dtype != np.uint8
              or out.attrs.dtype != np.uint8):
            raise ValueError("out planes must be chars uint32 and fg/bg/attrs uint8 (use Frames.empty)")
        elif not all(p.flags.c_contiguous for p in (out.chars, out.fg, out.bg, out.attrs)):
            # decoding writes through reshaped views: a strided buffer would get a copy, silently
            raise ValueError("out planes must be C-contiguous (use Frames.empty)")
        planes = (out.chars, out.fg, out.bg, out.attrs)
        cursor, offsets = out.cursor, out.action_offsets
        actions: list[bytes] = []
        pos, frame, a_total = 0, start, 0
        b = int(np.searchsorted(s.firsts, start, side="right")) - 1 if T else 0
        while frame < stop:
            blk = self._block(i, b)
            first = int(s.firsts[b])
            a, z = frame - first, min(stop - first, blk.n)
            blk.fill(planes, pos, a, z)
            cursor[pos : pos + z - a] = blk.cursor[a:z]
            lo, hi = int(blk.action_offsets[a]), int(blk.action_offsets[z])
            offsets[pos + 1 : pos + z - a + 1] = blk.action_offsets[a + 1 : z + 1] - lo + a_total
            actions.append(blk.action_data[lo:hi])
            a_total += hi - lo
            pos += z - a
            frame = first + z
            b += 1
        offsets[0] = 0
        return Frames(
            chars=out.chars[:T], fg=out.fg[:T], bg=out.bg[:T], attrs=out.attrs[:T], cursor=cursor[:T],
            action_data=b"".join(actions), action_offsets=offsets[: T + 1], start=start, palette=s.palette_rgb,
        )

    def read_actions(self, i: int, start: int = 0, stop: int | None = None) -> tuple[bytes, np.ndarray]:
        """Action bytes of frames [start, stop) of session ``i`` (``stop`` None: to the end).

        Returns ``(action_data, action_offsets)`` exactly as :meth:`read_frames` would
        (frame t's bytes are ``action_data[action_offsets[t]:action_offsets[t + 1]]``,
        offsets (n + 1,) int64 from 0), but only inflates the blocks and reads their
        action columns: no frame planes are built, so it costs a fraction of a decode.
        """
        s = self._session(i)
        total = s.info.frames
        stop = total if stop is None else stop
        if not 0 <= start <= stop <= total:
            raise IndexError(f"frames [{start}, {stop}) out of range for session {i} with {total} frames")
        T = stop - start
        out = np.zeros(T + 1, np.int64)
        actions: list[bytes] = []
        pos, frame, a_total = 0, start, 0
        b = int(np.searchsorted(s.firsts, start, side="right")) - 1 if T else 0
        while frame < stop:
            offs, data = self._block_actions(i, b)
            first = int(s.firsts[b])
            a, z = frame - first, min(stop - first, len(offs) - 1)
            lo, hi = int(offs[a]), int(offs[z])
            out[pos + 1 : pos + z - a + 1] = offs[a + 1 : z + 1] - lo + a_total
            actions.append(data[lo:hi])
            a_total += hi - lo
            pos += z - a
            frame = first + z
            b += 1
        return b"".join(actions), out

    def iter_frames(self, i: int, chunk: int = 4096) -> Iterator[Frames]:
        """Yield session ``i`` in chunks of at most ``chunk`` frames (new arrays per chunk)."""
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        total = self._session(i).info.frames
        for start in range(0, total, chunk):
            yield self.read_frames(i, start, min(start + chunk, total))

    def verify(self) -> int:
        """Read and decode every block of every session; returns the number of frames checked."""
        n = 0
        for i, s in enumerate(self._sessions):
            self.session_header(i)
            for b in range(len(s.firsts)):
                n += self._block(i, b).n
        return n

    @property
    def file_size(self) -> int:
        """Size of the shard file in bytes."""
        return self._size

    def close(self) -> None:
        """Release the file descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "ShardReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, AttributeError):
            pass


def open_shard(path: str | os.PathLike, **kwargs: Any) -> ShardReader:
    """Open a shard for reading; raises a :class:`FormatError` subclass if it is not a valid one."""
    return ShardReader(path, **kwargs)


__all__ = ["ShardReader", "open_shard", "FormatError"]
