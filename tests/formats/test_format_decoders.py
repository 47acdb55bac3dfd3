"""Both frame decoders against a naive oracle, on random blocks built column by column.

The blocks here are not made by the writer: spans overlap, rows move onto moved rows,
frame 0 carries spans, moves swap and chain - every shape SPEC.md allows - and the
frames are filled in random ranges (forwards, backwards, repeated) into one buffer.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.formats import Frames, ShardWriter, open_shard
from sessionforge.formats.block import decode_block, encode_block, resolve_decoder

DTYPES = (np.uint32, np.uint8, np.uint8, np.uint8)


@st.composite
def blocks(draw):
    """(rows, cols, key planes, per-frame moves [(dst, src)], per-frame spans [(row, col, planes)])."""
    R, C, n = draw(st.integers(1, 6)), draw(st.integers(1, 9)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    key = tuple(rng.integers(0, 2**20 if dt == np.uint32 else 256, (R, C)).astype(dt) for dt in DTYPES)
    moves, spans = [], []
    for _ in range(n):
        dsts = rng.permutation(R)[: rng.integers(0, R + 1)] if rng.random() < 0.4 else []
        moves.append([(int(d), int(rng.integers(0, R))) for d in dsts])
        frame_spans = []
        for _ in range(rng.integers(0, 4)):
            r, c = int(rng.integers(0, R)), int(rng.integers(0, C))
            ln = int(rng.integers(1, C - c + 1))
            vals = tuple(rng.integers(0, 2**20 if dt == np.uint32 else 256, ln).astype(dt) for dt in DTYPES)
            frame_spans.append((r, c, vals))
        spans.append(frame_spans)
    return R, C, key, moves, spans


def encode(R: int, C: int, key: tuple, moves: list, spans: list) -> bytes:
    n, h = len(moves), np.uint16
    flat = [s for f in spans for s in f]
    cells = tuple(np.concatenate([s[2][k] for s in flat]) if flat else np.zeros(0, dt) for k, dt in enumerate(DTYPES))
    return encode_block(
        key, np.zeros(n, h), np.zeros(n, h), np.ones(n, np.uint8), np.zeros(n, np.uint32), b"",
        np.array([len(f) for f in spans], h), np.array([s[0] for s in flat], h), np.array([s[1] for s in flat], h),
        np.array([len(s[2][0]) for s in flat], h), cells,
        np.array([len(m) for m in moves], h), np.array([d for m in moves for d, _ in m], h),
        np.array([s for m in moves for _, s in m], h))


def oracle(key: tuple, moves: list, spans: list) -> list[np.ndarray]:
    """Each plane (n, R, C), by applying the frames one at a time with plain Python lists."""
    planes = []
    for k in range(4):
        state = key[k].tolist()
        frames = []
        for f_moves, f_spans in zip(moves, spans):
            before = [row[:] for row in state]
            for dst, src in f_moves:
                state[dst] = before[src][:]
            for r, c, vals in f_spans:
                state[r][c : c + len(vals[k])] = vals[k].tolist()
            frames.append([row[:] for row in state])
        planes.append(np.array(frames, DTYPES[k]).reshape(len(moves), *key[k].shape))
    return planes


@settings(max_examples=150, deadline=None)
@given(blocks(), st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=6))
def test_both_decoders_match_the_oracle_in_any_read_order(block, ranges):
    R, C, key, moves, spans = block
    n = len(moves)
    want = oracle(key, moves, spans)
    raw = encode(R, C, key, moves, spans)
    decoders = ["numpy"] + (["compiled"] if importlib.util.find_spec("numba") else [])
    for decoder in decoders:
        blk = decode_block(raw, R, C, compiled=decoder == "compiled")
        out = tuple(np.full((n + 2, R, C), 0xAB, dt) for dt in DTYPES)  # poisoned: unwritten cells show
        for a, b in [(0, n)] + ranges:
            a, b = sorted((min(a, n), min(b, n)))
            pos = (a + b) % 3 if b - a <= n - 2 else 0  # write at an offset into the buffer, too
            blk.fill(out, pos, a, b)
            for k in range(4):
                np.testing.assert_array_equal(out[k][pos : pos + b - a], want[k][a:b], err_msg=f"{decoder} [{a},{b})")


def test_decoders_give_identical_frames_on_a_long_written_session(tmp_path):
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    text = rng.integers(33, 0x3000, (700, 30)).astype(np.uint32)
    z = np.zeros((12, 30), np.uint8)
    path = tmp_path / "s.tss"
    with ShardWriter(path, 12, 30, codec="zstd", block_frames=256) as w:
        w.begin_session({}, [0, 1])
        for t in range(600):  # scrolling, with edits in between
            top = t // 2
            chars = text[top : top + 12].copy()
            chars[t % 12, t % 30] = 7
            w.add_frame(chars, z + (t % 2), z, z, (t % 12, t % 30, True), b"k")
        w.end_session()
    got = {}
    for decoder in ("numpy", "compiled"):
        with open_shard(path, decoder=decoder) as r:
            assert r.decoder == decoder
            buf = Frames.empty(200, 12, 30)
            parts = [r.read_frames(0, a, a + 200, out=buf).chars.copy() for a in (400, 0, 150, 399, 200)]
            got[decoder] = parts + [r.read_session(0).fg]
    for x, y in zip(got["numpy"], got["compiled"]):
        np.testing.assert_array_equal(x, y)


def test_unknown_decoder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown decoder 'fast'.*auto, compiled, numpy"):
        open_shard(tmp_path / "missing.tss", decoder="fast")  # checked before the file is opened


def test_auto_falls_back_to_numpy_when_numba_is_missing(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else True)
    assert resolve_decoder("auto") is False
    assert resolve_decoder("numpy") is False


@pytest.mark.parametrize("error", [ImportError("Numba needs NumPy 9.9 or less"),
                                   RuntimeError("cannot cache function '_copy': no locator available")])
def test_broken_numba_warns_under_auto_and_fails_under_compiled(monkeypatch, error):
    # ImportError: numba too old or too new for numpy; RuntimeError: no writable cache directory.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())

    def broken(name, *args, **kwargs):
        raise error

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.warns(UserWarning, match="using the numpy decoder"):
        assert resolve_decoder("auto") is False
    with pytest.raises(ImportError, match=rf"needs numba.*{error}.*sessionforge\[fast\]"):
        resolve_decoder("compiled")


def _scrolling_shard(path, rows: int = 5, cols: int = 6, n: int = 40):
    rng = np.random.default_rng(9)
    text = rng.integers(33, 127, (n + rows, cols)).astype(np.uint32)
    z = np.zeros((rows, cols), np.uint8)
    with ShardWriter(path, rows, cols, codec="zstd") as w:
        w.begin_session({}, [0])
        for t in range(n):
            w.add_frame(text[t : t + rows], z, z, z, (0, 0, True), b"")
        w.end_session()
    return [text[t : t + rows] for t in range(n)]


def test_out_buffers_of_the_wrong_dtype_are_refused(tmp_path, decoder):
    _scrolling_shard(tmp_path / "s.tss")
    bad = Frames.empty(4, 5, 6)
    bad.chars = np.zeros((4, 5, 6), np.int64)
    with open_shard(tmp_path / "s.tss", decoder=decoder) as r:
        with pytest.raises(ValueError, match="uint32"):
            r.read_frames(0, 3, 5, out=bad)


def test_a_decode_interrupted_half_way_does_not_spoil_later_reads(tmp_path, decoder, monkeypatch):
    want = _scrolling_shard(tmp_path / "s.tss", rows=8)
    r = open_shard(tmp_path / "s.tss", decoder=decoder)
    r.read_frames(0, 0, 10)
    # Interrupt the next fill after its first plane (as a KeyboardInterrupt would).
    import sessionforge.formats.block_jit as jit_mod
    target, name = (jit_mod, "emit") if decoder == "compiled" else (np, "take")
    real, calls = getattr(target, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    with pytest.raises(KeyboardInterrupt):
        r.read_frames(0, 12, 14)  # frames 10, 11 applied to the first plane's state, not yet to the rest
    monkeypatch.setattr(target, name, real)
    for a in (12, 20, 10):  # fewer than 8 frames of scrolling do not overwrite a stale screen
        got = r.read_frames(0, a, a + 5)
        for k in range(5):
            np.testing.assert_array_equal(got.chars[k], want[a + k])
