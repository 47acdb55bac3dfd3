"""Fixtures for the rollout tests: one torch thread, a replayed dataset, a tiny run on it."""

from __future__ import annotations

import pytest
from torch_threads import one_torch_thread

from rolloutkit import build_dataset, manifest, train_run


@pytest.fixture(autouse=True)
def one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="session")
def replayed(tmp_path_factory):
    """A finished dataset replayed from two generated histories (val and train). Never modify it."""
    data = build_dataset(tmp_path_factory.mktemp("rollout-data"))
    splits = set(manifest(data)["split"].to_list())
    assert {"train", "val"} <= splits, f"the generated histories should land in train and val, got {splits}"
    return data


@pytest.fixture(scope="session")
def tiny_rollout_run(tmp_path_factory, replayed):
    """A run trained 2 steps on ``replayed`` (checkpoints at steps 1 and 2)."""
    return train_run(tmp_path_factory.mktemp("rollout-run"), replayed)
