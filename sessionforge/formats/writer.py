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
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Sequence

import msgpack
import numpy as np

from sessionforge.formats import layout
from sessionforge.formats.block import encode_block
from sessionforge.formats.builder import BlockBuilder
from sessionforge.formats.compiled import use_compiled
from sessionforge.formats.errors import ShardWriteError
from sessionforge.formats.frames import SessionInfo

_U32, _U8 = np.dtype(np.uint32), np.dtype(np.uint8)
MAX_CODEPOINT = 0x10FFFF
MAX_PENDING = 3  # blocks compressing in the background before add_frame waits


class ShardWriter:
    """Write sessions of frames into one shard; use as a context manager.

    ``codec``: "xz" (default, smallest) or "zstd" (faster). ``block_frames``: frames
    per compressed block (a key frame starts each block; smaller = faster random
    seeks, larger = smaller files). ``level``: codec level (xz preset / zstd level).
    ``threads``: compress on a background thread. ``encoder``: ``"auto"`` (default:
    compiled when numba is installed), ``"compiled"`` or ``"numpy"``: the code that diffs
    whole frames (scrolling); the shard bytes are the same either way. Without ``with``, call
    :meth:`close` (finalize) or :meth:`abort` (discard); until then only the temporary
    file exists.
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
        encoder: str = "auto",
    ) -> None:
        self.path = os.fspath(path)
        compiled = use_compiled(encoder, "sessionforge.formats.builder_jit", "encoder")
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
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        try:  # a failure from here on (disk full, ...) must leave no temp file or thread behind
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="termstream") if threads else None
            self._queue: deque[tuple[Future | bytes, dict, int, int, str]] = deque()  # (block, session, first, n, what)
            self._sessions: list[dict] = []
            self._cur: dict | None = None
            self.bytes_written = 0
            self._write(layout.pack_file_header(rows, cols, self._codec_id))
            self._b = BlockBuilder(self.path, rows, cols, compiled)
        except BaseException:
            self.abort()
            raise

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
        if type(action) is not bytes:
            if not isinstance(action, (bytearray, memoryview)):
                raise ShardWriteError(self.path, None, f"action must be bytes, got {type(action).__name__}")
            action = bytes(action)
        if self._b.n == 0 or changed is None:  # whole frames are checked now; spans at block end
            self._check_values(planes, None)
        self._b.add(planes, cursor, action, changed)
        cur["frames"] += 1
        cur["action_bytes"] += len(action)
        if self._b.n >= self._block_frames or self._b.p >= self._max_cells:
            self._flush_block()

    # ------------------------------------------------------------------ blocks
    def _flush_block(self) -> None:
        b = self._b
        if b.n == 0:
            return
        cur = self._cur
        self._check_values(b.cells(), cur["frames"] - b.n)
        args = b.columns()
        codec, level = self._codec_id, self._level
        first, n = cur["frames"] - b.n, b.n
        self._enqueue(lambda: layout.pack_block(layout.KIND_FRAMES, codec, encode_block(*args), level), "block", first, n)
        b.reset(max(1024, b.p))

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
