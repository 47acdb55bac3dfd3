"""The closed loop: a policy's key -> the editor -> the terminal -> a frame -> the policy.

Per frame, exactly as replay makes one (``replay/pipeline.py``): ``editor.press(key)``,
``terminal.feed`` of the bytes it returns, ``terminal.snapshot()`` (the changed spans), the
frame handed to a sink (a ``ShardWriter``, or a checker), and then to the policy, which
reads it before choosing the next key. An idle frame (``b""``) presses nothing: the screen
stays. Each stage is timed on the process's CPU clock (``time.process_time``: a busy machine
inflates wall time, not this; every thread counts, torch's and the shard writer's
compressor included), for ``bench/rollout_bench.py`` and the report.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sessionforge.errors import SessionforgeError
from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal
from sessionforge.rollout.disk import FileState
from sessionforge.rollout.policies import Policy
from sessionforge.rollout.points import RolloutError


class FrameOut(Protocol):
    """Where rollout frames go: the ``add_frame`` of a FrameSink."""

    def add_frame(self, chars: Any, fg: Any, bg: Any, attrs: Any, cursor: Any, action: bytes, changed: Any) -> None:
        ...


@dataclass
class Timings:
    """CPU seconds per stage of the loop."""

    model: float = 0.0  # choosing the key and reading the frame (frame head, integrator, head, sampling)
    editor: float = 0.0  # Editor.press
    terminal: float = 0.0  # Terminal.feed (pyte)
    snapshot: float = 0.0  # Terminal.snapshot (planes and changed spans)
    write: float = 0.0  # the sink (shard writer or checker)

    @property
    def total(self) -> float:
        return self.model + self.editor + self.terminal + self.snapshot + self.write

    def add(self, other: "Timings") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict[str, float]:
        return {**{k: round(v, 6) for k, v in asdict(self).items()}, "total": round(self.total, 6)}


@dataclass
class Rollout:
    """What one rollout did: a key and a target per frame, the files at the comparison step and at the end."""

    actions: list[bytes] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    files_at: FileState | None = None  # after ``capture_at`` frames
    files_end: FileState | None = None
    timings: Timings = field(default_factory=Timings)


def roll(editor: Editor, terminal: Terminal, policy: Policy, frames: int, *, capture_at: int,
         out: FrameOut | None = None) -> Rollout:
    """Make ``frames`` frames with ``policy`` from the state on screen (see the module doc)."""
    res, tm = Rollout(), Timings()
    clock = time.process_time
    press, feed, snapshot = editor.press, terminal.feed, terminal.snapshot
    for i in range(frames):
        if i == capture_at:
            res.files_at = FileState.of(editor)
        t0 = clock()
        key, target = policy.next_key()
        t1 = clock()
        try:
            data = press(key) if key else b""
        except SessionforgeError as exc:  # the editor refused a key: say which, never skip it
            raise RolloutError(f"the editor refused key {key!r} at frame {i + 1} of the rollout "
                               f"({policy.name}): {exc}") from exc
        except Exception as exc:  # a crash in the editor is a bug: keep its traceback, add where
            exc.add_note(f"sessionforge rollout: editor.press({key!r}) at frame {i + 1} ({policy.name})")
            raise
        t2 = clock()
        if data:
            feed(data)
        t3 = clock()
        spans = snapshot()
        t4 = clock()
        if out is not None:
            out.add_frame(terminal.chars, terminal.fg, terminal.bg, terminal.attrs, terminal.cursor, key, spans)
        t5 = clock()
        policy.observe(terminal, spans)
        t6 = clock()
        res.actions.append(key)
        res.targets.append(target)
        tm.model += (t1 - t0) + (t6 - t5)
        tm.editor += t2 - t1
        tm.terminal += t3 - t2
        tm.snapshot += t4 - t3
        tm.write += t5 - t4
    if capture_at >= frames:
        res.files_at = FileState.of(editor)
    res.files_end = FileState.of(editor)
    res.timings = tm
    return res


__all__ = ["FrameOut", "Rollout", "Timings", "roll"]
