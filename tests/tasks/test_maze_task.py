"""Withheld-maze labels against a plain walker that reads walls from the shown tokens."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.tasks.common import IGNORE
from sessionforge.tasks.maze import MazeConfig, MazeTask, carve_maze

STEP = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # N, E, S, W as (drow, dcol)


def blocked(mask: int, move: int) -> bool:
    return bool(mask & (1 << move))


def walk(masks: list[list[int]], moves: list[int]) -> list[tuple[int, int]]:
    """Where the agent is after each move, starting top-left; walls from the cell masks."""
    r = c = 0
    out = []
    for m in moves:
        if not blocked(masks[r][c], m):
            r, c = r + STEP[m][0], c + STEP[m][1]
        out.append((r, c))
    return out


def connected(masks: list[list[int]]) -> int:
    """Number of cells reachable from (0, 0) through open walls (plain flood fill)."""
    h, w = len(masks), len(masks[0])
    seen, todo = {(0, 0)}, [(0, 0)]
    while todo:
        r, c = todo.pop()
        for m, (dr, dc) in STEP.items():
            if not blocked(masks[r][c], m) and (r + dr, c + dc) not in seen:
                seen.add((r + dr, c + dc))
                todo.append((r + dr, c + dc))
    assert all(0 <= r < h and 0 <= c < w for r, c in seen)
    return len(seen)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 6), w=st.integers(2, 6), n=st.integers(1, 80), seed=st.integers(0, 2**32 - 1),
       loops=st.sampled_from([0.0, 0.3]))
def test_shown_mode_labels_match_a_walker_reading_the_prefix(h, w, n, seed, loops):
    task = MazeTask(MazeConfig(height=h, width=w, mode="shown", loops=loops))
    batch = task.sample(n, 3, np.random.default_rng(seed))
    cells = h * w
    assert batch.tokens.shape == batch.targets.shape == (3, cells + n)
    for tokens, targets in zip(batch.tokens.tolist(), batch.targets.tolist()):
        flat = [t - 4 for t in tokens[:cells]]  # wall tokens 4..19 = 4 + mask
        assert all(0 <= m < 16 for m in flat)
        masks = [flat[r * w:(r + 1) * w] for r in range(h)]
        moves = tokens[cells:]
        assert all(0 <= m < 4 for m in moves)
        assert targets[:cells] == [IGNORE] * cells  # the maze itself is not scored
        assert targets[cells:] == [r * w + c for r, c in walk(masks, moves)]
        assert connected(masks) == cells  # a maze: every cell reachable, border closed


def test_fixed_mode_uses_one_seeded_maze_and_never_shows_it():
    cfg = MazeConfig(height=4, width=5, mode="fixed", maze_seed=3)
    task = MazeTask(cfg)
    np.testing.assert_array_equal(task.fixed_walls, MazeTask(cfg).fixed_walls)
    batch = task.sample(50, 4, np.random.default_rng(0))
    assert batch.tokens.shape == (4, 50) and batch.tokens.max() < 4  # moves only
    masks = task.fixed_walls.tolist()
    for moves, targets in zip(batch.tokens.tolist(), batch.targets.tolist()):
        assert targets == [r * 5 + c for r, c in walk(masks, moves)]


def test_walls_agree_on_both_sides_and_border_is_closed():
    walls = carve_maze(5, 7, np.random.default_rng(1), loops=0.5).tolist()
    for r in range(5):
        for c in range(7):
            m = walls[r][c]
            assert blocked(m, 0) == (r == 0 or blocked(walls[r - 1][c], 2))
            assert blocked(m, 3) == (c == 0 or blocked(walls[r][c - 1], 1))
            assert blocked(m, 2) or r < 4
            assert blocked(m, 1) or c < 6


def test_hand_written_corridor():
    # 1x3 corridor, all inner walls open: masks N|S|W, N|S, N|E|S
    masks = [[1 | 4 | 8, 1 | 4, 1 | 2 | 4]]
    assert walk(masks, [3, 1, 1, 1, 0, 3]) == [(0, 0), (0, 1), (0, 2), (0, 2), (0, 2), (0, 1)]


def test_bad_maze_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 cells"):
        MazeConfig(height=1, width=1)
