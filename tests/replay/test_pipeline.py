"""replay_repository end to end: nasty repos -> real editor, pyte terminal, shard writer."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from gitfactory import RepoFactory, make_nasty_repo, make_synthetic_history

from sessionforge.formats import ShardWriter, open_shard
from sessionforge.replay import ReplayConfig, ReplayStats, list_commits, replay_repository
from sessionforge.replay import planner as planner_module
from sessionforge.replay.filters import FileFilterConfig

NO_FILTERS = FileFilterConfig(enabled=False)   # these tests type hard files the filters would skip


@pytest.fixture(scope="module")
def nasty(tmp_path_factory):
    return make_nasty_repo(tmp_path_factory.mktemp("nasty") / "repo")


@pytest.fixture(scope="module")
def nasty_run(nasty, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "nasty.tss"
    # The diff budget drops the commit that would type the 100k-character line key by key
    # (counted as commit_too_large); the next commit still edits that line in place.
    cfg = ReplayConfig(max_file_bytes=nasty.huge_bytes - 1, max_diff_bytes=50_000, session_frames=1000,
                       files=NO_FILTERS)
    with ShardWriter(out, codec="zstd") as w:
        stats = replay_repository(nasty.path, cfg, w)
    return stats, out


def test_nasty_repo_replays_losslessly(nasty, nasty_run):
    stats, out = nasty_run
    assert stats.lossless_failures == []
    assert stats.skipped == {**nasty.expected_skipped, "commit_too_large": 1}
    assert stats.commits == len(nasty.commits)
    assert stats.files == 33 - 1               # every replayable change but the dropped commit's
    assert stats.sessions >= 2                 # cut into sessions at commit boundaries
    d = stats.to_dict()
    assert d["frames"] == stats.frames and isinstance(d["lossless_failures"], list)


def test_shard_sessions_and_meta(nasty, nasty_run):
    stats, out = nasty_run
    with open_shard(out) as r:
        infos = r.sessions
        assert sum(s.frames for s in infos) == stats.frames
        assert sum(s.action_bytes for s in infos) == stats.action_bytes
        assert len(infos) == stats.sessions
        chain = []
        for info in infos:
            m = info.meta
            assert m["repo"] == str(nasty.path)
            assert m["lossless_failures"] == 0 and m["frames"] == info.frames
            assert m["replay_config"]["rows"] == 48 and m["editor_version"]
            chain.append((m["first_commit"], m["last_commit"], m["commits"]))
            idx = [mk[0] for mk in m["markers"]]
            assert idx == sorted(idx) and all(0 <= i < info.frames for i in idx)
            # the first frame of a session is a full redraw with no key behind it
            fr = r.read_frames(info.index, 0, 2)
            assert fr.action(0) == b"" and fr.action(1) != b""
            title = "".join(chr(c) for c in fr.chars[0, 0] if c)
            assert title.strip()
        assert chain[0][0] == nasty.commits[0] and chain[-1][1] == nasty.commits[-1]
        assert sum(c[2] for c in chain) == len(nasty.commits)
        assert sum(sum(s.meta["skipped"].values()) for s in infos) == sum(nasty.expected_skipped.values()) + 1


def test_escape_bytes_in_files_never_reach_the_screen(nasty, nasty_run):
    # The title bar (row 0) and the bottom two rows never show file content, and no frame
    # was ever switched to an alternate screen or cleared: every frame keeps its title bar.
    stats, out = nasty_run
    with open_shard(out) as r:
        for info in r.sessions:
            for fr in r.iter_frames(info.index, chunk=8192):
                title = fr.chars[:, 0, :]                       # (T, C)
                assert (title != 0).any(axis=1).all()
                assert not np.isin(fr.chars, [0x1B, 0x07, 0x9B, 0x9D]).any()
                assert "pwned" not in "".join(chr(c) for c in title[-1] if c)


def test_merge_slice_and_bare(nasty, tmp_path):
    commits = list_commits(nasty.path, ReplayConfig())
    sink = _CountingSink()
    # any slice replays on its own: the first commit opens its files from its parent tree
    stats = replay_repository(nasty.path, ReplayConfig(max_file_bytes=1000, files=NO_FILTERS), sink,
                              commits=commits[7:])
    assert stats.lossless_failures == [] and stats.commits == len(commits) - 7
    assert sink.sessions == 1 and sink.frames == stats.frames
    f = RepoFactory(tmp_path / "bare", bare=True)
    f.commit({"a.txt": "one\r\ntwo\n"})
    f.commit({"a.txt": "one\r\n2\n", "b.txt": "b"})
    stats = replay_repository(f.path, ReplayConfig(), _CountingSink())
    assert stats.lossless_failures == [] and stats.files == 3


def test_typed_long_line_scrolls_and_stays_exact(tmp_path):
    f = RepoFactory(tmp_path / "r")
    long = "".join(chr(0x61 + i % 26) if i % 50 else "\t" for i in range(1200))
    f.commit({"a.txt": "short\n" + long + "\n漢字🙂" * 30 + "\nend"})
    f.commit({"a.txt": "short\n" + long[:600] + "MID" + long[600:] + "\n漢字🙂" * 30 + "\nend\n"})
    stats = replay_repository(f.path, ReplayConfig(rows=24, cols=80, files=NO_FILTERS), _CountingSink())
    assert stats.lossless_failures == [] and stats.files == 2


def test_commit_too_large_is_skipped_and_counted(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"a.txt": "x" * 500 + "\n"})
    f.commit({"a.txt": "x" * 500 + "\nsmall\n"})
    f.commit({"b.txt": "y" * 400 + "\n", "c.txt": "z" * 400 + "\n"})
    f.commit({"a.txt": "edited\n" + "x" * 500 + "\nsmall\n", "b.txt": "y\n"})
    stats = replay_repository(f.path, ReplayConfig(max_diff_bytes=600, files=NO_FILTERS), _CountingSink())
    assert stats.skipped == {"commit_too_large": 1}
    assert stats.lossless_failures == [] and stats.commits == 4


def test_lossless_failures_are_counted_not_hidden(tmp_path, monkeypatch):
    f = RepoFactory(tmp_path / "r")
    c1 = f.commit({"a.txt": "one\n"})
    c2 = f.commit({"a.txt": "one\ntwo\n"})
    # a planner that forgets to save must be caught, with commit and path
    monkeypatch.setattr(planner_module.Planner, "save", lambda self: None)
    sink = _CountingSink()
    stats = replay_repository(f.path, ReplayConfig(), sink)
    assert [(c, p) for c, p, _ in stats.lossless_failures] == [(c1, "a.txt"), (c2, "a.txt")]
    assert sink.meta["lossless_failures"] == 2
    assert sink.meta["lossless_failure_details"][0][:2] == [c1, "a.txt"]


def test_determinism_identical_shard_bytes(tmp_path):
    make_synthetic_history(tmp_path / "syn", commits=8, seed=3, files=2)
    cfg = ReplayConfig(rows=24, cols=80, typo_rate=0.05, idle_rate=0.05, wander_rate=0.3, seed=7, session_frames=1500)
    digests = []
    for i in range(2):
        out = tmp_path / f"run{i}.tss"
        with ShardWriter(out, rows=24, cols=80, codec="zstd") as w:
            stats = replay_repository(tmp_path / "syn", cfg, w)
        assert stats.sessions >= 2
        assert stats.lossless_failures == []
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_progress_reports_every_frame(tmp_path):
    make_synthetic_history(tmp_path / "syn", commits=5, seed=1, files=1)
    seen = []
    stats = replay_repository(tmp_path / "syn", ReplayConfig(), _CountingSink(), progress=seen.append)
    assert len(seen) == 5 and sum(seen) == stats.frames - 1   # all but the session's first frame
    assert isinstance(stats, ReplayStats)


class _CountingSink:
    """A sink that checks the frame contract and counts (no file)."""

    def __init__(self) -> None:
        self.sessions = self.frames = 0
        self.meta: dict = {}

    def begin_session(self, meta, palette):
        assert len(palette) <= 256
        self.meta = dict(meta)
        self.sessions += 1

    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed=None):
        assert chars.dtype == np.uint32 and fg.dtype == bg.dtype == attrs.dtype == np.uint8
        assert isinstance(action, bytes) and len(cursor) == 3
        self.frames += 1

    def end_session(self, extra_meta=None):
        self.meta.update(extra_meta or {})


def test_idle_frames_have_empty_actions_and_end(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"a": "hello\n"})
    plain = replay_repository(f.path, ReplayConfig(), _CountingSink())
    sink = _ActionSink()
    idle = replay_repository(f.path, ReplayConfig(idle_rate=1.0), sink)
    keys = plain.frames - 1
    assert idle.action_bytes == plain.action_bytes and idle.lossless_failures == []
    assert idle.frames == 1 + keys * 31          # every key followed by the longest pause (30)
    assert sink.actions.count(b"") == 1 + keys * 30


class _ActionSink(_CountingSink):
    def __init__(self) -> None:
        super().__init__()
        self.actions: list[bytes] = []

    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed=None):
        super().add_frame(chars, fg, bg, attrs, cursor, action, changed)
        self.actions.append(action)
