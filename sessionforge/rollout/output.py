"""What a rollout leaves behind: a shard to read back and an asciicast to watch.

**Shard.** One session per rollout: frame 0 is the hand-over frame F as recorded (action
``b""``, as every session starts), frames 1..N are the model's. The session meta names
where it came from and how it was made (``rollout``: source data, session, frame, commit,
run, checkpoint, step, sampling settings) and carries a marker at frame 1, so ``render``'s
contact sheet and ``play``/``export`` label the hand-over.

**Asciicast** (v2, :mod:`sessionforge.view.export`'s clock, header and encoder): the
recorded frames of the ``lead`` seconds before F, then the rollout shard's frames, one
screen encoder across both so the hand-over is seamless, an ``"m"`` marker at F ("model
takes over") and every key as an ``"i"`` event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from sessionforge.dataset import OpenSession
from sessionforge.files import atomic_output
from sessionforge.formats import ShardReader, open_shard
from sessionforge.rollout.points import Point
from sessionforge.view.export import cast_header, frame_time_us, iter_blocks
from sessionforge.view.frame_access import Markers, frame_action
from sessionforge.view.vt import ScreenEncoder

HANDOVER = "model takes over"


def rollout_meta(point: Point, source_meta: dict[str, Any], data: str, run: str, checkpoint: str, step: int,
                 settings: dict[str, Any]) -> dict[str, Any]:
    """The rollout session's meta at ``begin_session`` (see the module doc)."""
    return {
        "repo": source_meta.get("repo"), "rows": source_meta.get("rows"), "cols": source_meta.get("cols"),
        "editor_version": source_meta.get("editor_version"),
        "rollout": {"data": data, "session": point.id, "shard": point.shard.name, "index": point.index,
                    "frame": point.frame, "run": run, "checkpoint": checkpoint, "step": step, **settings},
    }


def rollout_end_meta(report: dict[str, Any]) -> dict[str, Any]:
    """The meta added at ``end_session``: the hand-over marker and the rollout's numbers."""
    model = report["policies"]["model"]
    return {
        "markers": [[1, report["commit"], HANDOVER]],
        "rollout_result": {k: model[k] for k in ("token_agreement", "keys_to_divergence", "same_point_distance",
                                                 "commit_end_distance", "idle_frames")}
                          | {"commit": report["commit"], "context_frames": report["context_frames"],
                             "incremental_frame_head": report["frame_head"]["incremental"]},
    }


def write_cast(source: ShardReader, point: Point, rollout: Path, out: Path, *, lead: float, fps: float,
               label: str, session: int = 0) -> int:
    """Write the hand-over asciicast (see the module doc); returns the number of events."""
    first = max(0, point.frame - round(lead * fps))
    src_info = source.sessions[point.index]
    marks = Markers(src_info.meta).starts()
    events = 0
    with open_shard(rollout) as rr, atomic_output(out) as fh:
        ref = OpenSession(rr, session, rr.sessions[session], f"{point.label()} rollout")
        header = cast_header(ref, fps, title=f"sessionforge rollout: {point.label()} ({label})")
        header["sessionforge"].update({"source": point.id, "handover_frame": point.frame,
                                       "handover_seconds": frame_time_us(point.frame - first, fps) / 1e6})
        _line(fh, header)
        enc = ScreenEncoder(int(rr.rows), int(rr.cols), rr.sessions[session].palette)
        src_ref = OpenSession(source, point.index, src_info, point.id)
        k = 0  # exported frame number: the clock
        for part, start, stop in ((src_ref, first, point.frame), (ref, 0, rr.sessions[session].frames)):
            t_index = start  # frame index in ``part``'s session
            for block in iter_blocks(part, start, stop):
                for i in range(block.chars.shape[0]):
                    t = frame_time_us(k, fps) / 1e6
                    if part is ref:
                        marker = f"{HANDOVER}: {label}" if t_index == 0 else None
                    else:
                        mark = marks.get(t_index)
                        marker = f"{mark[0][:10]} {mark[1]}" if mark is not None else None
                    action = frame_action(block, i)
                    data = enc.encode(block.chars[i], block.fg[i], block.bg[i], block.attrs[i], block.cursor[i])
                    for code, text in (("m", marker), ("i", action.decode("utf-8", "replace")), ("o", data)):
                        if text:
                            _line(fh, [t, code, text])
                            events += 1
                    k += 1
                    t_index += 1
    return events


def _line(fh: BinaryIO, obj: object) -> None:
    fh.write((json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8"))


__all__ = ["HANDOVER", "rollout_end_meta", "rollout_meta", "write_cast"]
