"""The block builder on scrolling frames and on planes reused, swapped or strided between frames."""

from __future__ import annotations

import numpy as np
import pytest

from sessionforge.formats import ShardWriter, open_shard

ROWS, COLS = 12, 24


def _scrolling_session(seed: int, max_d: int = 1) -> list[tuple]:
    """(planes, cursor, action, changed) frames: typing, and region scrolls by up to ``max_d``.

    ``changed`` is what a terminal reports: every row of a scrolled region in full, plus
    the typed cells.
    """
    rng = np.random.default_rng(seed)
    planes = [rng.integers(32, 127, (ROWS, COLS)).astype(np.uint32)] + \
        [rng.integers(0, 8, (ROWS, COLS)).astype(np.uint8) for _ in range(3)]
    out = []
    for t in range(300):
        changed: list[tuple[int, int, int]] = []
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
                    p[list(fresh)] = rng.integers(32, 127, (len(fresh), COLS)) if p.dtype == np.uint32 \
                        else rng.integers(0, 8, (len(fresh), COLS))
                changed = [(y, 0, COLS) for y in range(top, bottom + 1)]
        r, c = int(rng.integers(ROWS)), int(rng.integers(COLS - 3))
        planes[0][r, c:c + 3] = rng.integers(32, 127, 3)
        if not any(y == r for y, _, _ in changed):
            changed.append((r, c, c + 3))
        out.append((tuple(p.copy() for p in planes), (r, c, True), b"k", sorted(changed)))
    return out


def _write(path, frames, encoder: str = "auto") -> None:
    with ShardWriter(path, ROWS, COLS, codec="zstd", block_frames=64, encoder=encoder) as w:
        w.begin_session({}, list(range(8)))
        for planes, cursor, action, changed in frames:
            w.add_frame(*planes, cursor, action, changed)
        w.end_session()


def _check_frames(path, frames) -> None:
    with open_shard(path) as r:
        f = r.read_session(0)
    assert len(f.chars) == len(frames)
    for t, (planes, *_rest) in enumerate(frames):
        for got, want in zip((f.chars[t], f.fg[t], f.bg[t], f.attrs[t]), planes):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed,max_d", [(0, 1), (1, 1), (2, 3)])
def test_terminal_like_scrolls_are_found_and_stay_exact(tmp_path, encoder, seed, max_d):
    # A terminal reports a scrolled region as full-width spans; the writer finds the moved
    # rows by diffing, and every frame must read back exactly (also moves of > 1 row).
    frames = _scrolling_session(seed, max_d)
    _write(tmp_path / "s.tss", frames, encoder)
    _check_frames(tmp_path / "s.tss", frames)


def test_planes_updated_in_place_or_swapped_or_strided_stay_exact(tmp_path, encoder):
    # The builder caches flat views of the planes it was last given: in-place updates of
    # the same arrays must be seen, and any swapped (or non-contiguous) plane must not reuse them.
    rng = np.random.default_rng(3)
    chars = np.full((ROWS, COLS), 32, np.uint32)
    fg, bg, at = (np.zeros((ROWS, COLS), np.uint8) for _ in range(3))
    want = []
    with ShardWriter(tmp_path / "p.tss", ROWS, COLS, codec="zstd", block_frames=32, encoder=encoder) as w:
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
            w.add_frame(*planes, (r, c, True), b"x", [(r, c, c + n)] if t % 11 else None)  # None: diffed whole
            want.append((chars.copy(), fg.copy()))
        w.end_session()
    with open_shard(tmp_path / "p.tss") as rd:
        f = rd.read_session(0)
    for t, (c, g) in enumerate(want):
        np.testing.assert_array_equal(f.chars[t], c)
        np.testing.assert_array_equal(f.fg[t], g)
