"""Fixtures for the trainer tests: one thread (tiny models lose to thread sync), a tiny dataset."""

from __future__ import annotations

import pytest
from torch_threads import one_torch_thread

from synth import write_synthetic_dataset


@pytest.fixture(autouse=True)
def one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A finished dataset folder (dataset.json, manifest) with two 8x32 shards (3 + 2 sessions
    of 160 frames). Shared by the session's tests: never modify it (copy it first)."""
    return write_synthetic_dataset(tmp_path_factory.mktemp("tiny-data"), {
        "a.tss": dict(sessions=3, frames=160, seed=1),
        "b.tss": dict(sessions=2, frames=160, seed=2),
    })
