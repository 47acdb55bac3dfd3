"""Random access to one opened session's frames, frame-range arguments and commit markers.

:class:`FrameCache` decodes frames in chunks, so players can step backwards without decoding a
session twice; sessions are opened by :func:`sessionforge.dataset.open_session`.
"""

from __future__ import annotations

import bisect

import numpy as np

from sessionforge.dataset import OpenSession
from sessionforge.errors import SessionforgeError
from sessionforge.formats import Frames


class ViewError(SessionforgeError):
    """A frame range, frame list or frame index given to a view command cannot be used."""


def parse_range(text: str | None, total: int) -> tuple[int, int]:
    """Parse ``A:B`` (either side optional, negative counts from the end) to [start, stop)."""
    if not text:
        return 0, total
    if ":" not in text:
        raise ViewError(f"--frames {text!r}: expected A:B (e.g. 0:500, 100:, :-10)")
    a, b = text.split(":", 1)
    try:
        start = int(a) if a.strip() else 0
        stop = int(b) if b.strip() else total
    except ValueError:
        raise ViewError(f"--frames {text!r}: A and B must be integers") from None
    start = start + total if start < 0 else start
    stop = stop + total if stop < 0 else stop
    start, stop = max(0, min(start, total)), max(0, min(stop, total))
    if start >= stop:
        raise ViewError(f"--frames {text!r}: empty range for a session of {total} frames")
    return start, stop


def parse_frame_list(text: str, total: int) -> list[int]:
    """Parse ``0,100,200`` (negative = from the end) into valid frame indices."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            t = int(part)
        except ValueError:
            raise ViewError(f"--frames {text!r}: {part!r} is not an integer") from None
        t = t + total if t < 0 else t
        if not 0 <= t < total:
            raise ViewError(f"--frames: frame {part} out of range (session has {total} frames)")
        out.append(t)
    if not out:
        raise ViewError("--frames: give at least one frame index")
    return out


class Markers:
    """Commit/file markers from session meta: ``[[frame_index, commit_hex, path], ...]``."""

    def __init__(self, meta: dict):
        raw = meta.get("markers") or []
        rows = []
        for m in raw:
            if isinstance(m, (list, tuple)) and len(m) >= 3:
                rows.append((int(m[0]), _text(m[1]), _text(m[2])))
        rows.sort(key=lambda x: x[0])
        self._frames = [r[0] for r in rows]
        self._rows = rows

    def starts(self) -> dict[int, tuple[str, str]]:
        """Frame index -> (commit, path) for every frame where the commit or file changes."""
        return {f: (c, p) for f, c, p in self._rows}

    def at(self, t: int) -> tuple[str, str]:
        """(commit, path) in effect at frame ``t``; empty strings when unknown."""
        i = bisect.bisect_right(self._frames, t) - 1
        if i < 0:
            return "", ""
        return self._rows[i][1], self._rows[i][2]


def _text(x: object) -> str:
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return str(x)


class FrameCache:
    """Random access to one session's frames, decoded ``chunk`` frames at a time."""

    def __init__(self, ref: OpenSession, chunk: int = 256):
        self.ref = ref
        self.chunk = chunk
        self._block: Frames | None = None
        self._lo = self._hi = 0

    def get(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bytes]:
        """Frame ``t`` as (chars, fg, bg, attrs, cursor, action)."""
        if not 0 <= t < self.ref.frames:
            raise ViewError(f"frame {t} out of range (session has {self.ref.frames} frames)")
        if not self._lo <= t < self._hi or self._block is None:
            lo = (t // self.chunk) * self.chunk
            hi = min(lo + self.chunk, self.ref.frames)
            self._block = self.ref.reader.read_frames(self.ref.index, lo, hi)
            self._lo, self._hi = lo, hi
        f, i = self._block, t - self._lo
        return f.chars[i], f.fg[i], f.bg[i], f.attrs[i], f.cursor[i], frame_action(f, i)


def frame_action(f: Frames, i: int) -> bytes:
    """Action bytes of frame ``i`` of a decoded block (local index)."""
    o = f.action_offsets
    return bytes(f.action_data[int(o[i]) : int(o[i + 1])])
