"""Export a session as an asciicast v2 recording or as plain-text frame dumps.

asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line,
then one JSON array per event, ``[time, "o", data]`` for terminal output and
``[time, "i", data]`` for keyboard input. Frame ``k`` of the exported range is shown
at ``k / fps`` seconds; its ``"o"`` data is what :class:`ScreenEncoder` emits to
turn frame ``k-1`` into frame ``k``, so a terminal emulator fed the output events
reproduces every stored frame (text, colours, attributes, cursor).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, TextIO

from sessionforge.formats import Frames, frame_text
from sessionforge.dataset import OpenSession
from sessionforge.view.frame_access import Markers, frame_action
from sessionforge.view.vt import ScreenEncoder

DEFAULT_FPS = 30.0


def iter_blocks(ref: OpenSession, start: int, stop: int, chunk: int = 1024) -> Iterator[Frames]:
    """Decode frames [start, stop) of a session in blocks of at most ``chunk`` frames.

    The blocks share one buffer (memory stays flat for sessions of 10^5+ frames):
    a block is only valid until the next one is yielded.
    """
    if stop <= start:
        return
    buf = Frames.empty(min(chunk, stop - start), int(ref.reader.rows), int(ref.reader.cols))
    for lo in range(start, stop, chunk):
        yield ref.reader.read_frames(ref.index, lo, min(lo + chunk, stop), out=buf)


def cast_header(ref: OpenSession, fps: float, title: str | None = None) -> dict:
    """The asciicast v2 header for a session (no timestamp: exports are reproducible)."""
    return {
        "version": 2,
        "width": int(ref.reader.cols),
        "height": int(ref.reader.rows),
        "title": title or f"sessionforge {ref.label}",
        "env": {"TERM": "xterm-256color", "SHELL": "/bin/sh"},
        "sessionforge": {"session": ref.label, "fps": fps},
    }


def write_asciicast(
    ref: OpenSession,
    out: Path | str,
    start: int = 0,
    stop: int | None = None,
    fps: float = DEFAULT_FPS,
    inputs: bool = True,
    markers: bool = True,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write frames [start, stop) of ``ref`` as an asciicast v2 file; return events written.

    ``inputs``: also write each frame's action bytes as an ``"i"`` event (decoded as
    UTF-8 with replacement, since JSON holds text). ``markers``: write an ``"m"``
    event (label ``"<commit> <path>"``) wherever the session meta says the commit or
    file changes, so ``asciinema play -m`` pauses there and ``]`` jumps to the next.
    ``progress(n)`` is called with the number of frames done since the last call.
    """
    stop = ref.frames if stop is None else stop
    rows, cols = int(ref.reader.rows), int(ref.reader.cols)
    enc = ScreenEncoder(rows, cols, ref.info.palette)
    meta_markers = Markers(ref.info.meta)
    marks = meta_markers.starts() if markers else {}
    if marks and start not in marks and meta_markers.at(start)[0]:
        marks[start] = meta_markers.at(start)  # the range starts inside a file: label it too
    events = 0
    path = Path(out)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(cast_header(ref, fps)) + "\n")
        k = 0
        for block in iter_blocks(ref, start, stop):
            n = block.chars.shape[0]
            for i in range(n):
                t = round(k / fps, 6)
                mark = marks.get(start + k)
                if mark is not None:
                    _event(fh, t, "m", f"{mark[0][:10]} {mark[1]}")
                    events += 1
                if inputs:
                    action = frame_action(block, i)
                    if action:
                        _event(fh, t, "i", action.decode("utf-8", "replace"))
                        events += 1
                data = enc.encode(block.chars[i], block.fg[i], block.bg[i], block.attrs[i], block.cursor[i])
                if data:
                    _event(fh, t, "o", data)
                    events += 1
                k += 1
            if progress is not None:
                progress(n)
    return events


def _event(fh: TextIO, t: float, kind: str, data: str) -> None:
    fh.write(json.dumps([t, kind, data], ensure_ascii=False) + "\n")


def write_text(
    ref: OpenSession,
    out: Path | str,
    start: int = 0,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write frames [start, stop) as plain-text blocks, one header line per frame.

    Header: ``=== frame T  cursor ROW,COL[ hidden]  commit C  file F  action 'repr'``,
    then the frame's rows as :func:`sessionforge.formats.frame_text` gives them.
    Returns the number of frames written.
    """
    stop = ref.frames if stop is None else stop
    markers = Markers(ref.info.meta)
    written = 0
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        t = start
        for block in iter_blocks(ref, start, stop):
            n = block.chars.shape[0]
            for i in range(n):
                cur = block.cursor[i]
                commit, path = markers.at(t)
                head = f"=== frame {t}  cursor {int(cur[0])},{int(cur[1])}"
                head += "" if int(cur[2]) else " hidden"
                if commit:
                    head += f"  commit {commit[:12]}  file {path!r}"
                head += f"  action {frame_action(block, i)!r}"
                fh.write(head + "\n")
                fh.write("\n".join(frame_text(block.chars[i], block.attrs[i])) + "\n")
                t += 1
                written += 1
            if progress is not None:
                progress(n)
    return written
