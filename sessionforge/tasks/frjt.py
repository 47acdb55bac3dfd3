"""Forward-Referencing Jumps (FRJT): follow a program's forward jumps, step by step.

A stream of ``n`` instructions, each ``NOP`` or ``JMP +k``. Execution starts at
instruction 0; after an executed ``NOP`` the next executed instruction is the next
one, after an executed ``JMP +k`` it is ``k`` further on (the ``k - 1`` instructions in
between are skipped, jumps of skipped instructions are ignored). The target at every
step is whether that instruction is executed. Deciding it needs the distance to the
next executed instruction carried from step to step. Exact definition: TASKS.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sessionforge.tasks.common import TaskBatch, TaskError, check_size

NOP = 0  # token id of NOP; token k (1 <= k <= k_max) is JMP +k


@dataclass
class FRJTConfig:
    """FRJT parameters: the longest jump and how often an instruction is a jump."""

    k_max: int = 8
    p_jump: float = 0.5

    def __post_init__(self) -> None:
        if self.k_max < 1:
            raise ValueError(f"frjt.k_max must be >= 1, got {self.k_max}")
        if not 0.0 <= self.p_jump <= 1.0:
            raise ValueError(f"frjt.p_jump must be in [0, 1], got {self.p_jump}")


class FRJTask:
    """Generator of FRJT streams: tokens 0 = NOP, k = JMP +k; targets 1 = executed, 0 = skipped."""

    name = "frjt"
    num_classes = 2

    def __init__(self, cfg: FRJTConfig | None = None) -> None:
        self.cfg = cfg or FRJTConfig()
        self.vocab_size = self.cfg.k_max + 1

    def sample(self, n: int, batch: int, rng: np.random.Generator) -> TaskBatch:
        """``batch`` programs of ``n`` instructions and their executed flags."""
        check_size(n, batch)
        if n > 10_000_000:
            raise TaskError(f"n = {n} is too large for one stream")
        is_jump = rng.random((batch, n)) < self.cfg.p_jump  # (N, n)
        # a jump at i may land at most on n (just past the last instruction: the end)
        longest = np.minimum(self.cfg.k_max, n - np.arange(n))  # (n,)
        k = 1 + np.floor(rng.random((batch, n)) * longest).astype(np.int64)  # uniform in 1..longest
        tokens = np.where(is_jump, k, NOP).astype(np.int64)  # (N, n)
        advance = np.where(is_jump, k, 1)  # (N, n): how far execution moves after instruction i
        executed = np.zeros((batch, n), dtype=np.int64)
        next_pc = np.zeros(batch, dtype=np.int64)  # the next instruction to execute, per stream
        for t in range(n):  # serial in t, vectorised over the batch
            hit = next_pc == t
            executed[:, t] = hit
            next_pc = np.where(hit, t + advance[:, t], next_pc)
        return TaskBatch(tokens=tokens, targets=executed)
