"""Decoder stress: long blocks with scrolling chains (lineages built on lineages of the same step)."""

from __future__ import annotations

import numpy as np
import pytest
from tsgen import assert_frames_equal, random_session, write_sessions

from sessionforge.formats import Frames, ShardWriter, block, open_shard


@pytest.mark.parametrize("seed,rows,sub", [(0, 6, 256), (1, 3, 64), (2, 9, 17), (3, 1, 5)])
def test_long_scrolling_blocks_decode_exactly(tmp_path, monkeypatch, decoder, seed, rows, sub):
    monkeypatch.setattr(block, "SUB", sub)
    rng = np.random.default_rng(seed)
    frames = random_session(rng, rows, 7, 400, 5, "exact")
    path = tmp_path / "s.tss"
    with ShardWriter(path, rows, 7, codec="zstd") as w:
        write_sessions(w, [({}, list(range(5)), frames)])
    with open_shard(path, decoder=decoder) as r:
        assert_frames_equal(r.read_session(0), frames)
        buf = Frames.empty(64, rows, 7)
        for start in (0, 37, 200, 336):  # chunks into a reused buffer, forwards then backwards
            assert_frames_equal(r.read_frames(0, start, start + 64, out=buf), frames, start)
        assert_frames_equal(r.read_frames(0, 5, 70, out=Frames.empty(65, rows, 7)), frames, 5)


def test_strided_out_buffer_is_refused(tmp_path):
    # A non-contiguous `out` would be written through a reshape copy and the frames lost.
    rng = np.random.default_rng(7)
    frames = random_session(rng, 4, 7, 20, 5, "exact")
    path = tmp_path / "s.tss"
    with ShardWriter(path, 4, 7, codec="zstd") as w:
        write_sessions(w, [({}, list(range(5)), frames)])
    big = Frames.empty(20, 4, 14)
    strided = Frames.empty(10, 4, 7)
    strided.chars = big.chars[:10, :, ::2]
    with open_shard(path) as r:
        with pytest.raises(ValueError, match="C-contiguous"):
            r.read_frames(0, 0, 10, out=strided)
