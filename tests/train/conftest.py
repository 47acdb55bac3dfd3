"""Fixtures for the trainer tests: one thread (tiny models lose to thread sync), a tiny dataset."""

from __future__ import annotations

import pytest
import torch

from synth import write_synthetic_shard


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A dataset folder with two 8x32 shards (3 + 2 sessions of 160 frames)."""
    root = tmp_path_factory.mktemp("tiny-data")
    write_synthetic_shard(root / "a.tss", sessions=3, frames=160, seed=1)
    write_synthetic_shard(root / "b.tss", sessions=2, frames=160, seed=2)
    return root
