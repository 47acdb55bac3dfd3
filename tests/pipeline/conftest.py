"""Fixtures of the build tests (real replay pipeline on tiny generated repositories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit import make_small_repo, small_config
from sessionforge.pipeline.runner import build_dataset


@pytest.fixture(scope="session")
def repos(tmp_path_factory) -> list[str]:
    """Three small repositories: a work tree, a bare one, and one more work tree."""
    root = tmp_path_factory.mktemp("repos")
    make_small_repo(root / "alpha", commits=9, seed=1)
    make_small_repo(root / "beta.git", commits=5, seed=2, bare=True)
    make_small_repo(root / "gamma", commits=3, seed=3)
    return [str(root / "alpha"), str(root / "beta.git"), str(root / "gamma")]


@pytest.fixture(scope="session")
def reference(repos, tmp_path_factory) -> Path:
    """An uninterrupted in-process build of the three repositories."""
    out = tmp_path_factory.mktemp("ref") / "data"
    build_dataset(repos, out, small_config("local"))
    return out
