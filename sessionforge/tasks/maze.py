"""Withheld Maze Position Tracking: where is the agent after each move? (never shown)

A maze on a ``height x width`` grid of cells (walls between cells, the outer border
closed) is either fixed by ``maze_seed`` for all streams (the model must learn it) or
drawn per stream and shown as the first ``height * width`` tokens. Then ``n`` moves
N/E/S/W follow; the agent starts in the top-left cell, a move into a wall leaves it in
place, and the target after each move is its cell ``row * width + col``. Exact
definition and tokens: TASKS.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sessionforge.tasks.common import IGNORE, TaskBatch, check_size

# Move tokens and their wall bits: direction d blocks when walls & (1 << d).
NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3
DROW = np.array([-1, 0, 1, 0])
DCOL = np.array([0, 1, 0, -1])
WALL_TOKEN0 = 4  # token WALL_TOKEN0 + mask shows one cell's 4-bit wall mask


@dataclass
class MazeConfig:
    """Maze parameters. mode "fixed": one maze from maze_seed, not shown; "shown": one per stream, as a prefix."""

    height: int = 4
    width: int = 4
    mode: Literal["fixed", "shown"] = "fixed"
    maze_seed: int = 0
    loops: float = 0.0  # chance that each remaining interior wall is removed after carving

    def __post_init__(self) -> None:
        if self.height < 1 or self.width < 1 or self.height * self.width < 2:
            raise ValueError(f"maze must have at least 2 cells, got {self.height}x{self.width}")
        if not 0.0 <= self.loops <= 1.0:
            raise ValueError(f"maze.loops must be in [0, 1], got {self.loops}")


def carve_maze(height: int, width: int, rng: np.random.Generator, loops: float = 0.0) -> np.ndarray:
    """A random perfect maze (depth-first carving) as (height, width) uint8 wall masks.

    Bit d of cell (r, c) is set when moving in direction d from it is blocked; the two
    cells on either side of a wall always agree. ``loops`` then removes interior walls
    at random, giving several paths between cells.
    """
    walls = np.full((height, width), 15, dtype=np.uint8)
    seen = np.zeros((height, width), dtype=bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    while stack:
        r, c = stack[-1]
        options = [d for d in range(4) if 0 <= r + DROW[d] < height and 0 <= c + DCOL[d] < width
                   and not seen[r + DROW[d], c + DCOL[d]]]
        if not options:
            stack.pop()
            continue
        d = options[int(rng.integers(len(options)))]
        nr, nc = r + DROW[d], c + DCOL[d]
        _open(walls, r, c, d)
        seen[nr, nc] = True
        stack.append((nr, nc))
    if loops > 0:
        for r in range(height):
            for c in range(width):
                for d in (EAST, SOUTH):  # each interior wall once
                    nr, nc = r + DROW[d], c + DCOL[d]
                    if nr < height and nc < width and walls[r, c] >> d & 1 and rng.random() < loops:
                        _open(walls, r, c, d)
    return walls


def _open(walls: np.ndarray, r: int, c: int, d: int) -> None:
    """Remove the wall on side d of (r, c) and the matching wall of its neighbour."""
    walls[r, c] &= ~np.uint8(1 << d)
    walls[r + DROW[d], c + DCOL[d]] &= ~np.uint8(1 << ((d + 2) % 4))


class MazeTask:
    """Generator of withheld-maze streams (see module docstring)."""

    name = "maze"
    vocab_size = WALL_TOKEN0 + 16

    def __init__(self, cfg: MazeConfig | None = None) -> None:
        self.cfg = cfg or MazeConfig()
        self.num_classes = self.cfg.height * self.cfg.width
        self.fixed_walls = carve_maze(self.cfg.height, self.cfg.width,
                                      np.random.default_rng(self.cfg.maze_seed), self.cfg.loops)

    def sample(self, n: int, batch: int, rng: np.random.Generator) -> TaskBatch:
        """``batch`` streams of ``n`` moves (plus the maze prefix in "shown" mode)."""
        check_size(n, batch)
        h, w = self.cfg.height, self.cfg.width
        if self.cfg.mode == "fixed":
            walls = np.broadcast_to(self.fixed_walls, (batch, h, w))
        else:
            walls = np.stack([carve_maze(h, w, rng, self.cfg.loops) for _ in range(batch)])
        moves = rng.integers(0, 4, size=(batch, n))  # (N, n)
        rows = np.zeros(batch, dtype=np.int64)
        cols = np.zeros(batch, dtype=np.int64)
        where = np.zeros((batch, n), dtype=np.int64)
        lanes = np.arange(batch)
        for t in range(n):  # serial in t, vectorised over the batch
            d = moves[:, t]
            free = (walls[lanes, rows, cols] >> d & 1) == 0
            rows = np.where(free, rows + DROW[d], rows)
            cols = np.where(free, cols + DCOL[d], cols)
            where[:, t] = rows * w + cols
        tokens, targets = moves.astype(np.int64), where
        if self.cfg.mode == "shown":
            prefix = WALL_TOKEN0 + walls.reshape(batch, h * w).astype(np.int64)  # row-major cells
            tokens = np.concatenate([prefix, tokens], axis=1)
            targets = np.concatenate([np.full((batch, h * w), IGNORE, dtype=np.int64), targets], axis=1)
        return TaskBatch(tokens=tokens, targets=targets, extra={"walls": np.array(walls)})
