"""KEYMAP.md, "Replay conventions": what a replay puts on the editor's disk before Ctrl-O,
the editor state a session starts with, and where markers point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gitfactory import RepoFactory

from sessionforge.replay import ReplayConfig, pipeline, replay_repository
from sessionforge.replay.editor import Editor


class _Sink:
    """Keeps every frame (copied: the terminal reuses its planes) and the session meta."""

    def __init__(self) -> None:
        self.sessions: list[dict[str, Any]] = []

    def begin_session(self, meta: dict, palette: list) -> None:
        self.sessions.append({"meta": meta, "frames": [], "actions": []})

    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed) -> None:
        s = self.sessions[-1]
        s["frames"].append((chars.copy(), fg.copy(), bg.copy(), attrs.copy(), tuple(cursor)))
        s["actions"].append(action)

    def end_session(self, extra: dict) -> None:
        self.sessions[-1]["end"] = extra


@pytest.fixture
def opens(monkeypatch) -> list[tuple[str, str | None]]:
    """(path, what disk held for it) at every open the replay's editor performs."""
    seen: list[tuple[str, str | None]] = []

    class Recording(Editor):
        def _open(self, path: str) -> None:
            seen.append((path, self.disk.get(path)))
            super()._open(path)

    monkeypatch.setattr(pipeline, "Editor", Recording)
    return seen


def _replay(path: Path, commits: list[str] | None = None, **cfg: Any) -> tuple[Any, _Sink]:
    sink = _Sink()
    stats = replay_repository(path, ReplayConfig(rows=12, cols=60, **cfg), sink, commits=commits)
    assert stats.lossless_failures == []
    return stats, sink


def _title(frame: tuple) -> str:
    return "".join(chr(c) for c in frame[0][0] if c)


# -- what Ctrl-O loads --------------------------------------------------------------------

def test_ctrl_o_loads_the_parent_tree_text(tmp_path: Path, opens: list) -> None:
    f = RepoFactory(tmp_path / "r")
    c1 = f.commit({"a.txt": "one\n", "b.txt": "bee\n"})
    c2 = f.commit({"a.txt": "one\ntwo\n", "b.txt": "bee\nbuzz\n"})
    f.commit({"b.txt": "bee\nbuzz\nhum\n"})
    _replay(f.path)
    # c1 adds: the paths are absent, so each opens a new empty buffer; c2 loads each file's
    # text from its parent tree (c1), never a write of c2 itself; c3's file is still open
    # with exactly its parent text, so no Ctrl-O at all
    assert opens == [("a.txt", None), ("b.txt", None), ("a.txt", "one\n"), ("b.txt", "bee\n")]
    opens.clear()
    _replay(f.path, commits=[c2])  # a slice: the parent tree is still what is loaded
    assert opens == [("a.txt", "one\n"), ("b.txt", "bee\n")]
    assert c1


def test_a_non_utf8_old_blob_is_never_loaded(tmp_path: Path, opens: list) -> None:
    f = RepoFactory(tmp_path / "r")
    f.commit({"l.txt": b"caf\xe9 cr\xe8me\n", "k.txt": "keep\n"})
    f.commit({"l.txt": "café crème\n"})
    stats, sink = _replay(f.path)
    assert stats.skipped.get("non_utf8") == 1
    # c1: l.txt skipped, k.txt added; c2: typed as a new file, Ctrl-O of an absent path
    assert opens == [("k.txt", None), ("l.txt", None)]
    typed = "".join(a.decode() for a in sink.sessions[0]["actions"] if a and a[0] >= 0x20 and a != b"\x7f")
    assert "café crème" in typed


# -- the state at the start of a session ---------------------------------------------------------

def test_a_session_starts_with_the_editor_the_last_one_left(tmp_path: Path) -> None:
    f = RepoFactory(tmp_path / "r")
    text = "".join(f"line {i}\n" for i in range(30))
    f.commit({"a.txt": text})
    for k in range(6):
        text = text.replace(f"line {k * 5}\n", f"line {k * 5} changed\n")
        f.commit({"a.txt": text, f"n{k}.txt": f"{k}\n"})
    _, sink = _replay(f.path, session_frames=60)
    assert len(sink.sessions) >= 3
    first = sink.sessions[0]["frames"][0]
    assert "New Buffer" in _title(first) and first[4] == (1, 4, True)  # a fresh editor
    for prev, nxt in zip(sink.sessions, sink.sessions[1:]):
        assert nxt["actions"][0] == b""  # frame 0 is a redraw, no key behind it
        last, start = prev["frames"][-1], nxt["frames"][0]
        # the redraw of the editor as the last session left it shows what its last frame showed
        assert all(np.array_equal(a, b) for a, b in zip(last[:4], start[:4])) and last[4] == start[4]
        assert nxt["meta"]["open_file"] and nxt["meta"]["open_file"] in _title(start)


# -- markers -------------------------------------------------------------------------------------------

def test_markers_share_a_frame_and_name_the_new_path(tmp_path: Path) -> None:
    f = RepoFactory(tmp_path / "r")
    c1 = f.commit({"x.bin": b"\x00binary"})              # nothing to replay
    c2 = f.commit({"t.txt": "text\n"})
    c3 = f.commit(None, renames={"t.txt": "u.txt"})
    c4 = f.commit({"u.txt": None})
    c5 = f.commit(None)                                   # an empty commit, the last one
    _, sink = _replay(f.path)
    (s,) = sink.sessions
    markers, actions = s["end"]["markers"], s["actions"]
    assert [m[1:] for m in markers] == [[c1, ""], [c2, "t.txt"], [c3, "u.txt"], [c4, "u.txt"], [c5, ""]]
    idx = [m[0] for m in markers]
    assert idx[0] == idx[1] == 1                          # c1 had nothing: it shares c2's first frame
    assert actions[idx[1]] == b"\x0f"                     # the frame made by the change's first key (Ctrl-O)
    assert actions[idx[2]] == b"\x1br"                    # t.txt is open already: the rename starts at Alt-R
    assert actions[idx[3]] == b"\x1bd"                    # u.txt is open already: the delete is Alt-D
    assert idx[4] == len(actions) == s["end"]["frames"]   # one past the last frame
