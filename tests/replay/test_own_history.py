"""This project's own git history replays losslessly (the repository holding this test)."""

from __future__ import annotations

from pathlib import Path

import pygit2

from sessionforge.replay import ReplayConfig, list_commits, replay_repository

MAX_COMMITS = 60          # a bounded, evenly spread sample keeps the test fast as history grows


def _own_repo() -> Path:
    found = pygit2.discover_repository(str(Path(__file__).resolve().parent))
    assert found, f"{Path(__file__)} is not inside a git repository"
    return Path(found)


class _Sink:
    def __init__(self) -> None:
        self.frames = 0

    def begin_session(self, meta, palette):
        pass

    def add_frame(self, *args, **kwargs):
        self.frames += 1

    def end_session(self, extra_meta=None):
        pass


def test_own_history_replays_losslessly():
    repo = _own_repo()
    # Commits that would type more than 1,500 characters are skipped by the diff budget
    # and counted (so is a shallow CI clone's boundary commit, diffed against the empty
    # tree): the many small fix-up commits are replayed, each opening its files from its
    # own parent tree, and the test time stays bounded. bench/replay_bench.py replays all.
    cfg = ReplayConfig(max_diff_bytes=1_500, max_file_bytes=200_000)
    commits = list_commits(repo, cfg)
    assert commits, "no commits"
    step = max(1, len(commits) // MAX_COMMITS)
    sample = commits[::step][:MAX_COMMITS]
    if commits[-1] not in sample:
        sample.append(commits[-1])
    sink = _Sink()
    stats = replay_repository(repo, cfg, sink, commits=sample)
    assert stats.lossless_failures == []
    assert stats.commits == len(sample) and sink.frames == stats.frames
    assert stats.files > 0 or stats.skipped.get("commit_too_large", 0) == len(sample)
