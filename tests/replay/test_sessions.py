"""Sessions within budget (cut at commit, file or key boundaries) and files that become skipped mid-history."""

from __future__ import annotations

import hashlib

import numpy as np
from gitfactory import RepoFactory

from sessionforge.formats import ShardWriter
from sessionforge.replay import ReplayConfig, replay_repository
from sessionforge.replay.filters import FileFilterConfig
from sessionforge.replay.pipeline import file_extension, frames_by_extension


class RecordingSink:
    """Keeps every session's meta, actions, title rows and screens (small frames only)."""

    def __init__(self) -> None:
        self.sessions: list[dict] = []

    def begin_session(self, meta, palette):
        self.sessions.append({"meta": dict(meta), "actions": [], "titles": [], "chars": []})

    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed=None):
        s = self.sessions[-1]
        s["actions"].append(bytes(action))
        s["titles"].append("".join(chr(c) for c in chars[0] if c))
        s["chars"].append(chars.copy())

    def end_session(self, extra_meta=None):
        self.sessions[-1]["meta"].update(extra_meta or {})


def _module(n: int, tag: str) -> str:
    return "".join(f"def {tag}_{i}(value):\n    return value + {i}\n\n" for i in range(n))


def test_a_file_that_becomes_skipped_is_closed_and_the_rest_stays_lossless(tmp_path):
    f = RepoFactory(tmp_path / "r")
    a, b = _module(3, "a"), _module(3, "b")
    long = "x = '" + "y" * 5000 + "'\n"
    c1 = f.commit({"a.py": a, "b.py": b})                     # b.py is typed last: open at the end
    c2 = f.commit({"b.py": b + long})                         # ... and now has a 5,000-char line
    c3 = f.commit({"a.py": a + "z = 1\n", "b.py": b + long + "w = 2\n"})
    c4 = f.commit({"b.py": b + "short = 3\n"})                # typable again: typed as a new file
    sink = RecordingSink()
    stats = replay_repository(f.path, ReplayConfig(rows=12, cols=60), sink)
    assert stats.lossless_failures == []
    assert stats.skipped == {"long_line": 2} and stats.files_closed == 1
    size = len((b + long).encode())
    assert stats.skipped_files == [(c2, "b.py", "long_line", size), (c3, "b.py", "long_line", size + 6)]
    [s] = sink.sessions
    assert s["meta"]["files_closed"] == 1 and s["meta"]["commits"] == 4
    assert s["actions"].count(b"\x1bd") == 1                  # closed once (nothing is deleted in git)
    closed_at = s["actions"].index(b"\x1bd")
    c2_marker = next(m for m in s["meta"]["markers"] if m[1] == c2)
    assert c2_marker[2] == "" and closed_at == c2_marker[0]   # the close is c2's only key
    assert "b.py" in s["titles"][closed_at - 1] and "b.py" not in s["titles"][closed_at]
    assert [m[2] for m in s["meta"]["markers"] if m[1] in (c3, c4)] == ["a.py", "b.py"]
    del c1


def test_an_open_file_is_not_closed_when_another_file_was_typed_after_it(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"a.py": _module(2, "a"), "b.py": _module(2, "b")})
    # b.py, open after the first commit, becomes skipped; c.py is opened after it anyway
    f.commit({"b.py": _module(2, "b") + "x = '" + "y" * 2000 + "'\n", "c.py": _module(1, "c")})
    stats = replay_repository(f.path, ReplayConfig(rows=12, cols=60), RecordingSink())
    assert stats.files_closed == 0 and stats.skipped == {"long_line": 1} and stats.lossless_failures == []


def _big_commit_repo(path):
    f = RepoFactory(path)
    f.commit({"small.py": _module(2, "s")})
    big = f.commit({"a.py": _module(6, "a"), "b.txt": _module(6, "b"), "c.py": _module(40, "c"),
                    "d.md": _module(5, "d"), "e": _module(3, "e")})
    f.commit({"small.py": _module(3, "s")})
    return f, big


def test_a_commit_longer_than_the_budget_is_cut_into_sessions_within_budget(tmp_path):
    f, big = _big_commit_repo(tmp_path / "r")
    cfg = ReplayConfig(rows=10, cols=40, session_frames=400)
    sink = RecordingSink()
    stats = replay_repository(f.path, cfg, sink)
    whole = RecordingSink()
    ref = replay_repository(f.path, ReplayConfig(rows=10, cols=40, session_frames=10**6), whole)
    assert stats.lossless_failures == [] and ref.sessions == 1 and ref.frames > 3 * 400
    sessions = sink.sessions
    assert all(len(s["actions"]) == s["meta"]["frames"] <= 400 for s in sessions)
    assert sum(s["meta"]["commits"] for s in sessions) == 3
    cuts = [s["meta"]["cut"] for s in sessions]
    assert cuts[0] == "start" and "file" in cuts and "key" in cuts
    # Cutting changes where sessions begin, never a key or a screen: each session's first
    # frame (a repaint, no key) aside, the sessions are the uncut replay, frame for frame.
    actions = [a for s in sessions for a in s["actions"][1:]]
    screens = [c for s in sessions for c in s["chars"][1:]]
    assert actions == whole.sessions[0]["actions"][1:]
    assert all(np.array_equal(x, y) for x, y in zip(screens, whole.sessions[0]["chars"][1:]))
    for s in sessions:
        m = s["meta"]
        if m["cut"] == "key":      # the interrupted change goes on: its file is open, its marker at frame 1
            assert m["commit_in_progress"] == big == m["first_commit"]
            assert m["change_in_progress"] == m["markers"][0][2] and m["markers"][0][0] == 1
            assert isinstance(m["cursor"], list) and m["prompt"] in (None, "open", "goto", "rename")
            if m["prompt"] is None:
                assert m["open_file"] == m["change_in_progress"]
        elif m["cut"] == "file":
            assert m["commit_in_progress"] == big and m["change_in_progress"] is None
        else:
            assert m["commit_in_progress"] is None
        assert sum(m["frames_by_ext"].values()) == m["frames"]
    by_ext: dict[str, int] = {}
    for s in sessions:
        for k, v in s["meta"]["frames_by_ext"].items():
            by_ext[k] = by_ext.get(k, 0) + v
    assert set(by_ext) == {".py", ".txt", ".md", "(none)", "(no file)"}
    assert by_ext["(no file)"] == len(sessions)                # each session's first frame


def test_cuts_are_deterministic_and_never_split_alt_v(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"ctl.txt": "a\x01b\x02\n" * 60})
    cfg = ReplayConfig(rows=10, cols=40, session_frames=7, files=FileFilterConfig(enabled=False))
    sink = RecordingSink()
    stats = replay_repository(f.path, cfg, sink)
    assert stats.lossless_failures == [] and stats.sessions > 20
    for s in sink.sessions:
        acts = s["actions"]
        assert len(acts) <= 7
        for i, a in enumerate(acts):
            if a in (b"\x01", b"\x02"):
                assert i >= 2 and acts[i - 1] == b"\x1bv"
    digests = []
    for run in range(2):
        out = tmp_path / f"{run}.tss"
        with ShardWriter(out, rows=10, cols=40, codec="zstd") as w:
            replay_repository(f.path, ReplayConfig(rows=10, cols=40, session_frames=50, idle_rate=0.2,
                                                   typo_rate=0.1, files=FileFilterConfig(enabled=False)), w)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_idle_frames_stay_within_budget(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"a.py": _module(4, "a")})
    sink = RecordingSink()
    stats = replay_repository(f.path, ReplayConfig(rows=10, cols=40, session_frames=64, idle_rate=0.9), sink)
    assert stats.lossless_failures == [] and all(len(s["actions"]) <= 64 for s in sink.sessions)


def test_frames_by_extension():
    markers = [[1, "c", "src/a.PY"], [5, "c", "Makefile"], [9, "d", ""], [9, "e", "x/.bashrc"]]
    assert frames_by_extension(markers, 12) == {".py": 4, "(none)": 7, "(no file)": 1}
    assert frames_by_extension([], 1) == {"(no file)": 1}
    assert file_extension("a/b.tar.gz") == ".gz" and file_extension("README") == "(none)"
