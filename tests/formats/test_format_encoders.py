"""The compiled whole-frame diff of the writer makes the same decisions as the numpy one: same bytes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_format_builder_scrolls import _scrolling_session, _write
from tsgen import random_session, write_sessions

from sessionforge.formats import ShardWriter

pytest.importorskip("numba")


def _bytes(path, rows, cols, sessions, encoder, block_frames) -> bytes:
    with ShardWriter(path, rows, cols, codec="zstd", block_frames=block_frames, encoder=encoder, threads=False) as w:
        write_sessions(w, sessions)
    return path.read_bytes()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(1, 40), st.integers(0, 2**32 - 1),
       st.sampled_from(["none", "mixed", "coarse", "exact"]), st.sampled_from([1, 3, 64]))
def test_random_sessions_give_identical_shards(tmp_path_factory, rows, cols, seed, hints, block_frames):
    rng = np.random.default_rng(seed)
    sessions = [({"i": i}, [0, 1, 2], random_session(rng, rows, cols, 40, 3, hints)) for i in range(2)]
    tmp = tmp_path_factory.mktemp("enc")
    a = _bytes(tmp / "a.tss", rows, cols, sessions, "numpy", block_frames)
    b = _bytes(tmp / "b.tss", rows, cols, sessions, "compiled", block_frames)
    assert a == b


def _noisy_scrolls(rng: np.random.Generator, rows: int, cols: int, frames: int) -> list[tuple]:
    """Frames that scroll by -3..3 rows and then change random cells of random planes, no hints.

    Sparse changes give every gap between changed cells, scrolled rows with noise give
    residuals on both sides of "half the row's own changes", and periodic rows give ties
    between offsets: the edges of the diff's rules.
    """
    planes = [rng.integers(0, 5, (rows, cols)).astype(np.uint32)] + \
        [rng.integers(0, 3, (rows, cols)).astype(np.uint8) for _ in range(3)]
    if rng.random() < 0.5:  # rows repeat with period 2: offsets +1 and -1 tie, row for row
        for p in planes:
            p[:] = p[np.arange(rows) % 2]
    out = []
    for _ in range(frames):
        d = int(rng.integers(-3, 4))
        if d and rng.random() < 0.5:
            for p in planes:
                p[:] = np.roll(p, -d, axis=0)
        for _ in range(int(rng.integers(0, rows * cols // 2 + 1))):
            p = planes[int(rng.integers(4))]
            p[int(rng.integers(rows)), int(rng.integers(cols))] = rng.integers(0, 5 if p.dtype == np.uint32 else 3)
        out.append((*(p.copy() for p in planes), (0, 0, True), b"", None))
    return out


def _row_copies(rng: np.random.Generator, rows: int, cols: int, frames: int) -> list[tuple]:
    """Frames where 1-3 rows take an old neighbour's content (offsets -2..2) plus noise, hinted
    as whole-row spans: the span-by-span diff, which tries each hinted row as a moved row."""
    planes = [rng.integers(0, 5, (rows, cols)).astype(np.uint32)] + \
        [rng.integers(0, 3, (rows, cols)).astype(np.uint8) for _ in range(3)]
    if rng.random() < 0.5:  # periodic rows: ties between offsets
        for p in planes:
            p[:] = p[np.arange(rows) % 2]
    out = []
    for _ in range(frames):
        old = [p.copy() for p in planes]
        hinted = sorted({int(r) for r in rng.integers(0, rows, int(rng.integers(1, 4)))})
        for r in hinted:
            src = min(rows - 1, max(0, r + int(rng.integers(-2, 3))))
            for p, o in zip(planes, old):
                p[r] = o[src]
            for _ in range(int(rng.integers(0, cols + 1))):
                p = planes[int(rng.integers(4))]
                p[r, int(rng.integers(cols))] = rng.integers(0, 5 if p.dtype == np.uint32 else 3)
        out.append((*(p.copy() for p in planes), (0, 0, True), b"", [(r, 0, cols) for r in hinted]))
    return out


@pytest.mark.parametrize("frames", [_noisy_scrolls, _row_copies])
@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_edge_cases_of_the_diff_rules_give_identical_shards(tmp_path_factory, frames, rows, cols, seed):
    sessions = [({}, [0, 1, 2], frames(np.random.default_rng(seed), rows, cols, 30))]
    tmp = tmp_path_factory.mktemp("enc")
    assert _bytes(tmp / "a.tss", rows, cols, sessions, "numpy", 16) == \
        _bytes(tmp / "b.tss", rows, cols, sessions, "compiled", 16)


@pytest.mark.parametrize("seed,max_d", [(0, 1), (5, 2), (6, 3)])
def test_scrolls_by_several_rows_give_identical_shards(tmp_path, seed, max_d):
    # Scroll distances other than +-1 make the "last distance" the first one tried.
    frames = _scrolling_session(seed, max_d)
    _write(tmp_path / "a.tss", frames, "numpy")
    _write(tmp_path / "b.tss", frames, "compiled")
    assert (tmp_path / "a.tss").read_bytes() == (tmp_path / "b.tss").read_bytes()


def test_unknown_encoder_is_a_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="unknown encoder 'jit'.*auto, compiled, numpy"):
        ShardWriter(tmp_path / "x.tss", 4, 4, encoder="jit")
    assert os.listdir(tmp_path) == []


def test_numpy_integer_hints_and_cursor_are_taken_as_ints(tmp_path):
    # uint16 hints once made the numpy diff overflow (r - 1) and the compiled one keep a
    # wrapped "last scroll distance": both now see Python ints and write the same bytes.
    R, C = 6, 10
    rng = np.random.default_rng(2)
    frames = []
    planes = [rng.integers(33, 90, (R, C)).astype(np.uint32)] + [np.zeros((R, C), np.uint8)] * 3
    for t in range(12):
        old = planes[0].copy()
        planes[0] = planes[0].copy()
        planes[0][3] = old[2]  # row 3 takes old row 2: tried as a move
        planes[0][0, t % C] = 40 + t
        hint = [(np.uint16(0), np.uint16(t % C), np.uint16(t % C + 1)), (np.uint16(3), np.uint16(0), np.uint16(C))]
        frames.append((planes[0].copy(), *planes[1:], (np.int64(t % R), np.uint8(1), True), b"k", hint))
    out = {}
    for enc in ("numpy", "compiled"):
        _bytes(tmp_path / f"{enc}.tss", R, C, [({}, [0], frames)], enc, 64)
        out[enc] = (tmp_path / f"{enc}.tss").read_bytes()
    assert out["numpy"] == out["compiled"]
