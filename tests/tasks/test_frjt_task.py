"""FRJT labels against a plainly written interpreter, and the stream's stated properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.tasks.common import TaskError
from sessionforge.tasks.frjt import FRJTask, FRJTConfig


def interpret(program: list[int]) -> list[int]:
    """Run the program: a program counter that visits instructions, NOP = 0, JMP +k = k."""
    executed = [0] * len(program)
    pc = 0
    while pc < len(program):
        executed[pc] = 1
        pc += program[pc] if program[pc] > 0 else 1
    return executed


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), k_max=st.integers(1, 12), p_jump=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_labels_match_an_independent_interpreter(n, k_max, p_jump, seed):
    task = FRJTask(FRJTConfig(k_max=k_max, p_jump=p_jump))
    batch = task.sample(n, 3, np.random.default_rng(seed))
    assert batch.tokens.shape == batch.targets.shape == (3, n)
    for program, labels in zip(batch.tokens.tolist(), batch.targets.tolist()):
        assert labels == interpret(program)
        for i, k in enumerate(program):
            assert 0 <= k <= k_max
            assert i + k <= n  # forward only, never past the end of the stream


def test_hand_written_program():
    # 0: JMP +2 -> 2: NOP -> 3: JMP +3 -> 6: end (n = 6); 1, 4, 5 are skipped
    assert interpret([2, 5, 0, 3, 1, 1]) == [1, 0, 1, 1, 0, 0]


def test_same_seed_same_stream_and_jumps_really_occur():
    task = FRJTask()
    a = task.sample(200, 4, np.random.default_rng(7))
    b = task.sample(200, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert 0.3 < (a.tokens > 0).mean() < 0.7  # p_jump = 0.5
    assert 0.1 < a.targets.mean() < 0.9  # neither label is trivial


def test_bad_sizes_and_options_are_clear_errors():
    with pytest.raises(TaskError, match="n must be"):
        FRJTask().sample(0, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="k_max"):
        FRJTConfig(k_max=0)
