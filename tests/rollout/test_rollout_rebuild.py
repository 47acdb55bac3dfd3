"""Rebuilding a recorded frame and replaying the recorded keys from it reproduce the recording."""

from __future__ import annotations

import numpy as np
import pytest

from sessionforge.dataset import read_dataset
from sessionforge.formats import open_shard
from sessionforge.rollout.disk import FileState, RepoDisk
from sessionforge.rollout.loop import roll
from sessionforge.rollout.points import RolloutError, manifest_point
from sessionforge.rollout.policies import RecordedPolicy
from sessionforge.rollout.rebuild import fork, follow, open_slice, rebuild
from sessionforge.rollout.runner import recorded_actions, trees
from sessionforge.rollout.metrics import compare_files


class Frames:
    """A frame sink that keeps copies of every frame."""

    def __init__(self) -> None:
        self.frames: list[tuple] = []

    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed) -> None:
        self.frames.append((chars.copy(), fg.copy(), bg.copy(), attrs.copy(), tuple(cursor), bytes(action)))


def _open(data, spec, frame):
    tables = read_dataset(data)
    point = manifest_point(data, tables.manifest, str(spec), frame)
    return tables, point, open_slice(data, tables.doc, tables.manifest, point)


def _assert_same(reader, point, frames, start):
    """``frames`` equal the recorded frames ``start..``, every plane, the cursor and the key."""
    rec = reader.read_frames(point.index, start, start + len(frames))
    for k, (chars, fg, bg, attrs, cursor, action) in enumerate(frames):
        for name, live in (("chars", chars), ("fg", fg), ("bg", bg), ("attrs", attrs)):
            assert np.array_equal(live, getattr(rec, name)[k]), f"frame {start + k}: {name} differ"
        assert [int(cursor[0]), int(cursor[1]), int(bool(cursor[2]))] == rec.cursor[k].tolist(), f"frame {start + k}"
        assert action == rec.action(k)


def _points(data):
    """(row number, frame) of varied points: a replay's first frame, inside a later session of a
    slice (the editor carried over), the last frame of a session in the second slice."""
    m = read_dataset(data).manifest
    rows = m.with_row_index("row").to_dicts()
    first = rows[0]
    later = next(r for r in rows if r["slice_session"] >= 2)
    second = next(r for r in rows if r["slice"] == 1 and r["slice_session"] >= 1)
    return [(first["row"], 0), (later["row"], later["frames"] // 2), (second["row"], second["frames"] - 1)]


def test_the_rebuilt_state_is_the_recorded_frame(replayed):
    for row, frame in _points(replayed):
        _, point, source = _open(replayed, row, frame)
        with open_shard(point.shard) as reader:
            editor, terminal = rebuild(source, point, reader)  # checks every plane and the cursor itself
            _assert_same(reader, point, [(terminal.chars, terminal.fg, terminal.bg, terminal.attrs, terminal.cursor,
                                          reader.read_frames(point.index, frame, frame + 1).action(0))], frame)
            meta = reader.sessions[point.index].meta
            if frame == 0:  # the session header records the editor state it starts from
                assert editor.path == meta["open_file"] and [editor.cursor_line, editor.cursor_col] == meta["cursor"]


def _crossing_point(data):
    """A point a few frames before a later commit's first file change, so that the recorded keys
    that follow finish one commit and open a file of the next (Ctrl-O reads the disk)."""
    tables = read_dataset(data)
    for k, row in enumerate(tables.manifest.iter_rows(named=True)):
        with open_shard(data / "shards" / row["shard"]) as r:
            meta = r.sessions[row["index"]].meta
            markers = meta["markers"]
            for prev, m in zip(markers, markers[1:]):
                if m[1] != prev[1] and m[0] >= 6 and m[0] + 60 < row["frames"]:
                    acts = recorded_actions(r, manifest_point(data, tables.manifest, str(k), 0), m[0] - 5, m[0] + 60)
                    if b"\x0f" in acts:
                        return k, m[0] - 5
    raise AssertionError("no commit boundary followed by Ctrl-O in the test data")


def test_recorded_keys_from_the_rebuilt_state_reproduce_the_recording(replayed):
    row, frame = _crossing_point(replayed)
    _, point, source = _open(replayed, row, frame)
    with open_shard(point.shard) as reader:
        M = point.frames - 1 - frame
        commit, base, _ = trees(source, reader.sessions[point.index].meta, frame)
        actions = recorded_actions(reader, point, frame, frame + M + 1)
        editor, terminal = rebuild(source, point, reader)
        editor.disk = RepoDisk(dict(editor.disk), base)
        twin = fork(editor)  # the baselines' copy: a fresh terminal showing the same editor
        twin[0].disk = RepoDisk(dict(editor.disk), base)
        for ed, term in ((editor, terminal), twin):
            out = Frames()
            res = roll(ed, term, RecordedPolicy(actions[1:], [0] * M), M, capture_at=M, out=out)
            _assert_same(reader, point, out.frames, frame + 1)
            assert res.actions == actions[1:]
        # The files equal the replay's own at the session's last frame (its disk remembering, from
        # the hand-over on, what it deletes and forgets after a commit, as the runner has it).
        truth = {}

        def at_handover(ed, term):
            ed.disk = RepoDisk(dict(ed.disk))

        follow(source, {(point.slice_session, frame): at_handover,
                        (point.slice_session, frame + M): lambda e, t: truth.setdefault("f", FileState.of(e))})
        diff = [f for f in compare_files(res.files_end, truth["f"], base) if f.distance]
        assert not diff and res.files_end.known


def test_a_frame_outside_the_session_is_refused(replayed):
    tables = read_dataset(replayed)
    frames = int(tables.manifest["frames"][0])
    for bad in (-1, frames):
        with pytest.raises(RolloutError, match=rf"outside session .* \(it has {frames} frames"):
            manifest_point(replayed, tables.manifest, "0", bad)
    with pytest.raises(RolloutError, match="no session 'nope'"):
        manifest_point(replayed, tables.manifest, "nope", 0)
