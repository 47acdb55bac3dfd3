"""read_actions: the actions of read_frames without decoding any frame planes."""

from __future__ import annotations

import numpy as np
import pytest
from tsgen import random_session, write_sessions

from sessionforge.formats import CorruptBlockError, ShardWriter, block, open_shard


@pytest.mark.parametrize("seed", range(6))
def test_read_actions_matches_read_frames(tmp_path, seed):
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(1, 6)), int(rng.integers(1, 10))
    sessions = []
    for i in range(3):
        npal = int(rng.choice([1, 3, 256]))
        n = int(rng.choice([0, 1, 7, 23]))
        sessions.append(({"i": i}, rng.integers(0, 1 << 24, npal).tolist(), random_session(rng, rows, cols, n, npal)))
    path = tmp_path / "s.tss"
    codec = ("xz", "zstd")[seed % 2]
    with ShardWriter(path, rows, cols, codec=codec, block_frames=int(rng.choice([1, 2, 5, 4096]))) as w:
        write_sessions(w, sessions)
    with open_shard(path) as r:
        for i, (_, _, frames) in enumerate(sessions):
            data, offs = r.read_actions(i)
            assert data == b"".join(f[5] for f in frames)
            assert offs.dtype == np.int64 and offs.shape == (len(frames) + 1,)
            n = len(frames)
            ranges = [(0, n)] + [tuple(sorted(rng.integers(0, n + 1, 2).tolist())) for _ in range(8)]
            for start, stop in ranges:
                want = r.read_frames(i, start, stop)
                r._cache = None  # noqa: SLF001 - read_actions must not rely on a decoded block
                got_data, got_offs = r.read_actions(i, start, stop)
                assert got_data == want.action_data
                np.testing.assert_array_equal(got_offs, want.action_offsets)
                assert got_offs.dtype == np.int64
        with pytest.raises(IndexError):
            r.read_actions(0, 0, len(sessions[0][2]) + 1)


def test_read_actions_never_builds_planes(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    frames = random_session(rng, 4, 6, 30, 3)
    path = tmp_path / "s.tss"
    with ShardWriter(path, 4, 6, block_frames=7) as w:
        write_sessions(w, [({}, [1, 2, 3], frames)])

    def boom(*a, **k):
        raise AssertionError("read_actions decoded a frame block")

    monkeypatch.setattr(block, "decode_block", boom)
    monkeypatch.setattr("sessionforge.formats.reader.decode_block", boom)
    with open_shard(path) as r:
        data, offs = r.read_actions(0, 3, 25)
    assert data == b"".join(f[5] for f in frames[3:25])
    assert [data[offs[t]:offs[t + 1]] for t in range(22)] == [f[5] for f in frames[3:25]]


def test_block_actions_rejects_inconsistent_payload():
    rng = np.random.default_rng(2)
    R, C, n = 2, 3, 2
    key = tuple(rng.integers(0, 9, (R, C)).astype(dt) for dt in (np.uint32, np.uint8, np.uint8, np.uint8))
    e16 = np.zeros(0, np.uint16)
    raw = block.encode_block(key, np.zeros(n, np.uint16), np.zeros(n, np.uint16), np.ones(n, np.uint8),
                             np.array([1, 2], np.uint32), b"abc", np.zeros(n, np.uint16), e16, e16, e16,
                             (np.zeros(0, np.uint32),) + (np.zeros(0, np.uint8),) * 3, np.zeros(n, np.uint16), e16, e16)
    got_n, offs, data = block.block_actions(raw, R, C)
    assert (got_n, offs.tolist(), data) == (2, [0, 1, 3], b"abc")
    with pytest.raises(CorruptBlockError):
        block.block_actions(raw[:-1], R, C)
    bad = bytearray(raw)
    at = block.COUNTS.size + 7 * R * C + 5 * n
    bad[at] = 2  # action lengths now add up to 4, not 3
    with pytest.raises(CorruptBlockError):
        block.block_actions(bytes(bad), R, C)


def test_consumers_read_actions_without_decoding(tmp_path, monkeypatch):
    """train ShardSet.action_streams and build stats top_actions use read_actions (no frame decode)."""
    from collections import Counter

    from sessionforge.pipeline.stats import readable_action, top_actions
    from sessionforge.files import sha256_file
    from sessionforge.dataset import ShardSet

    rng = np.random.default_rng(5)
    sessions = [({"i": i}, [1, 2, 3], random_session(rng, 3, 5, n, 3)) for i, n in enumerate([9, 0, 14])]
    (tmp_path / "shards").mkdir()
    path = tmp_path / "shards" / "a.tss"
    with ShardWriter(path, 3, 5, block_frames=4) as w:
        write_sessions(w, sessions)

    def boom(*a, **k):
        raise AssertionError("decoded a frame block just to read actions")

    monkeypatch.setattr("sessionforge.formats.reader.decode_block", boom)
    want = [b"".join(f[5] for f in frames) for _, _, frames in sessions]
    assert list(ShardSet(path).action_streams()) == want
    assert b"".join(ShardSet(path).action_streams(max_bytes=500)) == b"".join(want)[:500]
    got = top_actions(tmp_path, {"a.tss": {"sha256": sha256_file(path)}}, 1, 20, 50)
    counts = Counter(readable_action(f[5]) for f in (sessions[0][2] + sessions[2][2])[:20])
    assert got["sampled_frames"] == 20
    assert {a["action"]: a["count"] for a in got["top"]} == dict(counts)
