"""Round trip and seeking: what the writer is given is exactly what the reader returns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tsgen import assert_frames_equal, random_session, write_sessions

from sessionforge.formats import (
    ATTR_BLINK, ATTR_BOLD, ATTR_ITALIC, ATTR_REVERSE, ATTR_STRIKE, ATTR_UNDERLINE, ATTR_WIDE,
    Frames, ShardWriter, open_shard,
)
from sessionforge.formats import block, layout

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def small_decode_steps(monkeypatch):
    # Decode in steps of 3 frames so the step/carry logic runs on tiny sessions.
    monkeypatch.setattr(block, "SUB", 3)


@st.composite
def shards(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sessions = []
    for i in range(draw(st.integers(1, 3))):
        npal = draw(st.sampled_from([1, 3, 256]))
        palette = rng.integers(0, 0x1000000, npal).tolist()
        n = draw(st.sampled_from([0, 1, 2, 7, 20]))
        hints = draw(st.sampled_from(["mixed", "none", "exact", "coarse"]))
        meta = {"i": i, "name": f"session {i}", "blob": b"\x00\xff", "nested": {"a": [1, 2.5, True, None]}}
        sessions.append((meta, palette, random_session(rng, rows, cols, n, npal, hints)))
    codec = draw(st.sampled_from(["xz", "zstd"]))
    block_frames = draw(st.sampled_from([1, 2, 5, 4096]))
    return rows, cols, codec, block_frames, sessions


@SETTINGS
@given(shards())
def test_round_trip_is_exact(tmp_path, decoder, shard):
    rows, cols, codec, block_frames, sessions = shard
    path = tmp_path / "s.tss"
    with ShardWriter(path, rows, cols, codec=codec, block_frames=block_frames) as w:
        write_sessions(w, sessions)
    with open_shard(path, decoder=decoder) as r:
        assert (r.rows, r.cols, r.codec) == (rows, cols, codec)
        assert len(r.sessions) == len(sessions)
        for i, (meta, palette, frames) in enumerate(sessions):
            info = r.sessions[i]
            assert info.index == i and info.frames == len(frames)
            assert info.meta == {**meta, "frames_written": len(frames)}
            assert info.palette == palette
            assert info.action_bytes == sum(len(f[5]) for f in frames)
            got = r.read_session(i)
            assert len(got) == len(frames) and got.start == 0
            assert_frames_equal(got, frames)
            np.testing.assert_array_equal(got.palette[:, 0], np.array(palette, np.int64) >> 16)
            assert r.session_header(i) == {"meta": meta, "palette": palette}


@SETTINGS
@given(shards(), st.data())
def test_seeking_equals_sequential(tmp_path, decoder, shard, data):
    rows, cols, codec, block_frames, sessions = shard
    path = tmp_path / "s.tss"
    with ShardWriter(path, rows, cols, codec=codec, block_frames=block_frames) as w:
        write_sessions(w, sessions)
    r = open_shard(path, decoder=decoder)
    i = data.draw(st.integers(0, len(sessions) - 1))
    frames = sessions[i][2]
    full = r.read_session(i)
    buf = Frames.empty(len(frames) + 1, rows, cols)
    for _ in range(5):  # random ranges, in random order (forwards and backwards), into a reused buffer
        a = data.draw(st.integers(0, len(frames)))
        b = data.draw(st.integers(a, len(frames)))
        got = r.read_frames(i, a, b, out=buf if data.draw(st.booleans()) else None)
        assert len(got) == b - a and got.start == a
        assert_frames_equal(got, frames, start=a)
        assert got.action_data == full.action_data[full.action_offsets[a] : full.action_offsets[b]]
    chunk = data.draw(st.integers(1, 8))
    parts = list(r.iter_frames(i, chunk=chunk))
    assert sum(len(p) for p in parts) == len(frames)
    for p in parts:
        assert_frames_equal(p, frames, start=p.start)
    r.close()


def test_every_attribute_bit_and_wide_codepoints(tmp_path):
    bits = [ATTR_BOLD, ATTR_ITALIC, ATTR_UNDERLINE, ATTR_STRIKE, ATTR_REVERSE, ATTR_BLINK, ATTR_WIDE]
    assert sorted(bits) == [1, 2, 4, 8, 16, 32, 64]
    chars = np.array([[0x4E2D, 0, 0x1F600, 0, 0x10FFFF, 65, 0, 0xE9]], np.uint32)
    attrs = np.array([[ATTR_WIDE, 0, ATTR_WIDE | ATTR_BOLD, 0, 127, 255, 1, 2]], np.uint8)
    fg = np.arange(8, dtype=np.uint8)[None]
    bg = (255 - fg).astype(np.uint8)
    path = tmp_path / "w.tss"
    with ShardWriter(path, 1, 8) as w:
        w.begin_session({}, list(range(256)))
        w.add_frame(chars, fg, bg, attrs, (0, 8, False), b"x" * 100_000)
        w.add_frame(chars[:, ::-1].copy(), fg, bg, attrs[:, ::-1].copy(), (0, 0, True), b"")
        w.end_session()
    got = open_shard(path).read_session(0)
    np.testing.assert_array_equal(got.chars[0], chars)
    np.testing.assert_array_equal(got.chars[1], chars[:, ::-1])
    np.testing.assert_array_equal(got.attrs[1], attrs[:, ::-1])
    np.testing.assert_array_equal(got.bg[0], bg)
    assert got.action(0) == b"x" * 100_000 and got.action(1) == b""
    # text(): right halves (code point 0 after a WIDE cell; 'A' has attrs 255) are dropped
    assert got.text(0) == ["中😀\U0010ffffAé"]


def test_writer_copies_its_input(tmp_path):
    """Callers may mutate their arrays right after add_frame."""
    ch = np.full((2, 3), 65, np.uint32)
    z = np.zeros((2, 3), np.uint8)
    path = tmp_path / "c.tss"
    with ShardWriter(path, 2, 3) as w:
        w.begin_session({}, [0])
        for t in range(6):
            ch[t % 2, t % 3] = 66 + t
            w.add_frame(ch, z, z, z, (0, 0, True), b"", [(t % 2, t % 3, t % 3 + 1)])
            ch[:] = 0  # scribble over the caller's buffer, then restore what frame t+1 builds on
            ch[:] = 65
            for k in range(t + 1):
                ch[k % 2, k % 3] = 66 + k
        w.end_session()
    got = open_shard(path).read_session(0)
    assert got.chars[0].tolist() == [[66, 65, 65], [65, 65, 65]]
    assert got.chars[5].tolist() == [[66, 70, 68], [69, 67, 71]]


def test_long_scrolling_session_uses_moves_and_stays_small(tmp_path, decoder):
    """A 40x60 screen scrolling one line per frame costs a few bytes a frame, not a screenful."""
    rng = np.random.default_rng(1)
    text = rng.integers(33, 127, (400, 60)).astype(np.uint32)
    z = np.zeros((40, 60), np.uint8)
    path = tmp_path / "scroll.tss"
    with ShardWriter(path, 40, 60, block_frames=512) as w:
        w.begin_session({}, [0])
        for top in range(300):
            w.add_frame(text[top : top + 40], z, z, z, (39, 0, True), b"\x1b[B",
                        [(r, 0, 60) for r in range(40)] if top % 2 else None)
        info = w.end_session()
    r = open_shard(path, decoder=decoder)
    got = r.read_session(0)
    for top in (0, 1, 150, 299):
        np.testing.assert_array_equal(got.chars[top], text[top : top + 40])
    # each frame brings 60 new random chars (~50 bytes after compression) and nothing else
    assert info.compressed_bytes / 300 < 120


@pytest.mark.parametrize("codec", ["xz", "zstd"])
def test_output_is_deterministic(tmp_path, codec):
    """Same calls -> byte-identical shards, with or without the compression thread."""
    rng = np.random.default_rng(3)
    sessions = [({"i": i}, [0, 1, 2], random_session(rng, 5, 7, 40, 3)) for i in range(3)]
    blobs = []
    for k, threads in enumerate([True, False, True]):
        path = tmp_path / f"d{k}.tss"
        with ShardWriter(path, 5, 7, codec=codec, block_frames=9, threads=threads) as w:
            write_sessions(w, sessions)
            written = w.bytes_written
        blobs.append(path.read_bytes())
        # bytes_written after the last end_session is exactly where the index starts
        assert layout.FOOTER.unpack(blobs[-1][-24:])[0] == written
    assert blobs[0] == blobs[1] == blobs[2]
