"""What every synthetic recurrence task hands the runner: token streams and per-step targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from sessionforge.errors import SessionforgeError

IGNORE = -1  # target of a step that is not scored (e.g. the maze's wall prefix)


class TaskError(SessionforgeError, ValueError):
    """A task or benchmark option is invalid (bad n, unknown task or backbone)."""


@dataclass
class TaskBatch:
    """A batch of sequences of one task.

    tokens: (N, T) int64 input token ids; targets: (N, T) int64 class per step, or
    ``IGNORE`` where a step is not scored; extra: task-specific ground truth (e.g. the
    maze walls) that tests and debugging use, never the model.
    """

    tokens: np.ndarray
    targets: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    """A seeded generator of sequences whose length grows with ``n``."""

    name: str
    vocab_size: int
    num_classes: int

    def sample(self, n: int, batch: int, rng: np.random.Generator) -> TaskBatch:
        """``batch`` fresh sequences of size ``n`` drawn from ``rng``."""
        ...


def check_size(n: int, batch: int) -> None:
    """Reject sizes that make no stream (a user's --n or --batch)."""
    if n < 1:
        raise TaskError(f"n must be >= 1, got {n}")
    if batch < 1:
        raise TaskError(f"batch must be >= 1, got {batch}")
