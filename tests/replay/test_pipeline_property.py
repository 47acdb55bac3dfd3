"""Random multi-commit histories replay with zero lossless failures (hypothesis)."""

from __future__ import annotations

import tempfile

from gitfactory import RepoFactory
from hypothesis import HealthCheck, given, settings, strategies as st

from sessionforge.replay import ReplayConfig, replay_repository

PIECES = ["a", "bc", " ", "\t", "\n", "\r\n", "\r", "漢", "🙂", "e\u0301", "\x1b[2J", "\x7f", "\u009b", "x\n" * 3]
texts = st.lists(st.sampled_from(PIECES), max_size=25).map("".join)
PATHS = ["a.txt", "b.txt", "dir/c.txt", "dir/sub/d.txt"]
# one commit: for some paths a new text, a deletion (None) or raw bytes (binary / non-UTF-8)
contents = st.one_of(texts, st.none(), st.sampled_from([b"\x00bin", b"\xff\xfe latin"]))
commit = st.tuples(st.dictionaries(st.sampled_from(PATHS), contents, max_size=4),
                   st.dictionaries(st.sampled_from(PATHS), st.sampled_from(["r1.txt", "dir/r2.txt"]), max_size=1))


class _Sink:
    frames = 0

    def begin_session(self, meta, palette):
        pass

    def add_frame(self, *a):
        self.frames += 1

    def end_session(self, extra=None):
        pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commit, min_size=1, max_size=5), st.booleans())
def test_random_histories_are_lossless(history, realism):
    with tempfile.TemporaryDirectory() as tmp:
        f = RepoFactory(tmp + "/r")
        present: set[str] = set()
        for changes, renames in history:
            renames = {o: n for o, n in renames.items() if o in present and n not in present and n not in changes}
            f.commit(changes, renames=renames)
            present = set(f.files(f.head))
        cfg = ReplayConfig(rows=16, cols=50, session_frames=200,
                           typo_rate=0.1 if realism else 0.0, idle_rate=0.1 if realism else 0.0,
                           wander_rate=0.3 if realism else 0.0)
        sink = _Sink()
        stats = replay_repository(f.path, cfg, sink)
        assert stats.lossless_failures == []
        assert stats.frames == sink.frames and stats.commits == len(history)
