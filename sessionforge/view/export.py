"""Export a session as an asciicast recording (v2 or v3) or as plain-text frame dumps.

The clock: frame ``k`` of the exported range (``k = 0`` for its first frame, whatever
its index in the session) is shown at ``k / fps`` seconds, kept in whole microseconds
(:func:`frame_time_us`), the resolution asciinema itself keeps. Its ``"o"`` (output)
data is what :class:`ScreenEncoder` emits to turn frame ``k-1`` into frame ``k``, so a
terminal emulator fed the output events reproduces every stored frame (text, colours,
attributes, cursor). At the same time come, before the output, the frame's action as
an ``"i"`` (input) event and, where the session meta says a commit or file starts, an
``"m"`` (marker) event.

asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/, what the asciinema 2.x
on PyPI records and plays): a JSON header line ``{"version": 2, "width", "height", ...}``,
then one JSON array per event, ``[time, code, data]``, ``time`` in seconds since the
start of the recording.

asciicast v3 (https://docs.asciinema.org/manual/asciicast/v3/, what asciinema 3.x
records by default; followed as that page and asciinema 3's own encoder describe it):
the header is ``{"version": 3, "term": {"cols", "rows", "type"}, ...}`` and each event
is ``[interval, code, data]``, ``interval`` being the seconds since the *previous*
event (0 for events at the same time). The recording ends with an exit event
``[interval, "x", "0"]`` at ``n / fps`` for ``n`` exported frames, so the last frame
stays on screen for one frame's time, as every other frame does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from sessionforge.dataset import OpenSession
from sessionforge.files import atomic_output
from sessionforge.formats import Frames, frame_text
from sessionforge.view.frame_access import Markers, frame_action
from sessionforge.view.vt import ScreenEncoder

DEFAULT_FPS = 30.0
CAST_VERSIONS = (2, 3)
TERM_TYPE = "xterm-256color"  # the encoder's 24-bit SGR colours and CUP/DECTCEM need no more


def frame_time_us(k: int, fps: float) -> int:
    """Microseconds from the start of the recording at which exported frame ``k`` is shown.

    Whole microseconds, so v3 intervals add up exactly to the v2 times (floats would drift).
    """
    return round(k * 1_000_000 / fps)


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


def cast_header(ref: OpenSession, fps: float, title: str | None = None, version: int = 2) -> dict:
    """The asciicast header for a session (no timestamp: exports are reproducible)."""
    cols, rows = int(ref.reader.cols), int(ref.reader.rows)
    common = {
        "title": title or f"sessionforge {ref.label}",
        "sessionforge": {"session": ref.label, "fps": fps},  # players ignore keys they do not know
    }
    if version == 2:
        return {"version": 2, "width": cols, "height": rows, **common,
                "env": {"TERM": TERM_TYPE, "SHELL": "/bin/sh"}}
    if version == 3:  # v3 moved the size and TERM into "term"
        return {"version": 3, "term": {"cols": cols, "rows": rows, "type": TERM_TYPE}, **common,
                "env": {"SHELL": "/bin/sh"}}
    raise ValueError(f"asciicast version {version!r}: expected one of {CAST_VERSIONS}")


def cast_events(
    ref: OpenSession,
    start: int,
    stop: int,
    fps: float,
    inputs: bool = True,
    markers: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, str, str]]:
    """The recording's events as ``(time_us, code, data)``, in time order (see the module doc)."""
    rows, cols = int(ref.reader.rows), int(ref.reader.cols)
    enc = ScreenEncoder(rows, cols, ref.info.palette)
    meta_markers = Markers(ref.info.meta)
    marks = meta_markers.starts() if markers else {}
    if marks and start not in marks and meta_markers.at(start)[0]:
        marks[start] = meta_markers.at(start)  # the range starts inside a file: label it too
    k = 0
    for block in iter_blocks(ref, start, stop):
        n = block.chars.shape[0]
        for i in range(n):
            t = frame_time_us(k, fps)
            mark = marks.get(start + k)
            if mark is not None:
                yield t, "m", f"{mark[0][:10]} {mark[1]}"
            if inputs:
                action = frame_action(block, i)
                if action:  # JSON holds text: invalid UTF-8 becomes U+FFFD
                    yield t, "i", action.decode("utf-8", "replace")
            data = enc.encode(block.chars[i], block.fg[i], block.bg[i], block.attrs[i], block.cursor[i])
            if data:
                yield t, "o", data
            k += 1
        if progress is not None:
            progress(n)


def write_asciicast(
    ref: OpenSession,
    out: Path | str,
    start: int = 0,
    stop: int | None = None,
    fps: float = DEFAULT_FPS,
    inputs: bool = True,
    markers: bool = True,
    progress: Callable[[int], None] | None = None,
    version: int = 2,
) -> int:
    """Write frames [start, stop) of ``ref`` as an asciicast v2 or v3 file; return events written.

    ``inputs``: also write each frame's action bytes as an ``"i"`` event (decoded as
    UTF-8 with replacement, since JSON holds text). ``markers``: write an ``"m"``
    event (label ``"<commit> <path>"``) wherever the session meta says the commit or
    file changes, so ``asciinema play -m`` pauses there and ``]`` jumps to the next.
    ``progress(n)`` is called with the number of frames done since the last call.
    The file appears under ``out`` only once complete: an error or Ctrl-C part-way
    leaves ``out`` as it was.
    """
    stop = ref.frames if stop is None else stop
    header = cast_header(ref, fps, version=version)  # checks ``version`` before anything is written
    events = 0
    with atomic_output(out) as fh:
        _line(fh, header)
        prev = 0
        for t, code, data in cast_events(ref, start, stop, fps, inputs, markers, progress):
            # v2: seconds since the start; v3: seconds since the previous event
            _line(fh, [t / 1e6 if version == 2 else (t - prev) / 1e6, code, data])
            prev = t
            events += 1
        if version == 3:
            _line(fh, [(max(frame_time_us(stop - start, fps), prev) - prev) / 1e6, "x", "0"])
            events += 1
    return events


def _line(fh: BinaryIO, obj: object) -> None:
    fh.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))


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
    Returns the number of frames written; like :func:`write_asciicast`, the file
    appears only once complete.
    """
    stop = ref.frames if stop is None else stop
    markers = Markers(ref.info.meta)
    written = 0
    with atomic_output(out) as fh:
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
                lines = [head, *frame_text(block.chars[i], block.attrs[i])]
                fh.write(("\n".join(lines) + "\n").encode("utf-8"))
                t += 1
                written += 1
            if progress is not None:
                progress(n)
    return written
