"""The ``moves`` hint of ``ShardWriter.add_frame``: same frames back, same bytes as discovery."""

from __future__ import annotations

import numpy as np
import pytest

from sessionforge.formats import ShardWriter, ShardWriteError, open_shard

ROWS, COLS = 12, 24


def _scrolling_session(seed: int, max_d: int = 1) -> list[tuple]:
    """(planes, cursor, action, changed, moves) frames: typing, and region scrolls by up to ``max_d``.

    ``changed`` is what a terminal reports: every row of a scrolled region in full, plus
    the typed cells; ``moves`` the rows that scrolled, as (dst, src, count) runs.
    """
    rng = np.random.default_rng(seed)
    planes = [rng.integers(32, 127, (ROWS, COLS)).astype(np.uint32)] + \
        [rng.integers(0, 8, (ROWS, COLS)).astype(np.uint8) for _ in range(3)]
    out = []
    for t in range(300):
        changed: list[tuple[int, int, int]] = []
        moves: list[tuple[int, int, int]] = []
        if t % 7 == 3:
            # regions of >= 4 rows: the writer diffs such frames whole, as it does a
            # terminal's scroll (a 2-3 row region goes span by span, which may pick other moves)
            top = int(rng.integers(0, ROWS - 4))
            bottom = int(rng.integers(top + 3, ROWS))
            d = int(rng.integers(1, max_d + 1)) * (1 if rng.random() < 0.5 else -1)
            k = bottom - top + 1 - abs(d)
            if k > 0:
                dst, src = (top, top + d) if d > 0 else (top - d, top)
                for p in planes:
                    p[dst:dst + k] = p[src:src + k].copy()
                    fresh = range(bottom - d + 1, bottom + 1) if d > 0 else range(top, top - d)
                    # fresh random rows: with repeated (say blank) rows, discovery may name
                    # another, equally good source row than the hint (same frames, other bytes)
                    p[list(fresh)] = rng.integers(32, 127, (len(fresh), COLS)) if p.dtype == np.uint32 \
                        else rng.integers(0, 8, (len(fresh), COLS))
                moves = [(dst, src, k)]
                changed = [(y, 0, COLS) for y in range(top, bottom + 1)]
        r, c = int(rng.integers(ROWS)), int(rng.integers(COLS - 3))
        planes[0][r, c:c + 3] = rng.integers(32, 127, 3)
        if not any(y == r for y, _, _ in changed):
            changed.append((r, c, c + 3))
        out.append((tuple(p.copy() for p in planes), (r, c, True), b"k", sorted(changed), moves))
    return out


def _write(path, frames, hinted: bool) -> None:
    with ShardWriter(path, ROWS, COLS, codec="zstd", block_frames=64) as w:
        w.begin_session({}, list(range(8)))
        for planes, cursor, action, changed, moves in frames:
            w.add_frame(*planes, cursor, action, changed, moves if hinted else None)
        w.end_session()


def _check_frames(path, frames) -> None:
    with open_shard(path) as r:
        f = r.read_session(0)
    assert len(f.chars) == len(frames)
    for t, (planes, *_rest) in enumerate(frames):
        for got, want in zip((f.chars[t], f.fg[t], f.bg[t], f.attrs[t]), planes):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_hinted_one_row_scrolls_give_the_same_bytes_as_discovery(tmp_path, seed):
    frames = _scrolling_session(seed)
    assert sum(bool(m) for *_x, m in frames) > 20
    a, b = tmp_path / "found.tss", tmp_path / "hinted.tss"
    _write(a, frames, hinted=False)
    _write(b, frames, hinted=True)
    _check_frames(b, frames)
    assert a.read_bytes() == b.read_bytes()


def test_hinted_longer_scrolls_stay_exact(tmp_path):
    # Discovery only looks one row away; a hinted 2-3 row scroll is stored as moves
    # (different bytes, same frames).
    frames = _scrolling_session(7, max_d=3)
    a, b = tmp_path / "found.tss", tmp_path / "hinted.tss"
    _write(a, frames, hinted=False)
    _write(b, frames, hinted=True)
    _check_frames(a, frames)
    _check_frames(b, frames)


def test_bad_moves_are_refused(tmp_path):
    z32, z8 = np.zeros((ROWS, COLS), np.uint32), np.zeros((ROWS, COLS), np.uint8)
    with pytest.raises(ShardWriteError, match="row move"):
        with ShardWriter(tmp_path / "x.tss", ROWS, COLS) as w:
            w.begin_session({}, list(range(8)))
            w.add_frame(z32, z8, z8, z8, (0, 0, True), b"")
            w.add_frame(z32 + 65, z8, z8, z8, (0, 0, True), b"a", [(0, 0, COLS)], [(ROWS - 2, 0, 3)])
    assert not (tmp_path / "x.tss").exists()


def test_planes_updated_in_place_or_swapped_or_strided_stay_exact(tmp_path):
    # The builder caches flat views of the planes it was last given: in-place updates of
    # the same arrays must be seen, and any swapped (or non-contiguous) plane must not reuse them.
    rng = np.random.default_rng(3)
    chars = np.full((ROWS, COLS), 32, np.uint32)
    fg, bg, at = (np.zeros((ROWS, COLS), np.uint8) for _ in range(3))
    want = []
    with ShardWriter(tmp_path / "p.tss", ROWS, COLS, codec="zstd", block_frames=32) as w:
        w.begin_session({}, list(range(8)))
        for t in range(120):
            r, c, n = int(rng.integers(ROWS)), int(rng.integers(COLS - 4)), int(rng.integers(1, 4))
            chars[r, c:c + n] = rng.integers(33, 127, n)
            if t % 5 == 0:
                fg = fg.copy()  # a new fg array, same chars array
            fg[r, c:c + n] = rng.integers(0, 8, n)
            planes = (chars, fg, bg, at)
            if t % 7 == 0:  # a strided (non-contiguous) copy of every plane
                planes = tuple(np.asfortranarray(p) for p in planes)
            w.add_frame(*planes, (r, c, True), b"x", [(r, c, c + n)])
            want.append((chars.copy(), fg.copy()))
        w.end_session()
    with open_shard(tmp_path / "p.tss") as rd:
        f = rd.read_session(0)
    for t, (c, g) in enumerate(want):
        np.testing.assert_array_equal(f.chars[t], c)
        np.testing.assert_array_equal(f.fg[t], g)
