"""Fixtures for the view tests: small synthetic shards written with the real ShardWriter."""

from __future__ import annotations

import pytest
from viewkit import synthetic_frames, write_shard

ROWS, COLS = 6, 16


@pytest.fixture(scope="session")
def synth_sessions():
    """Two sessions of frames produced by a real pyte screen (wide chars, colours, ...)."""
    return [synthetic_frames(ROWS, COLS, 70, seed=1), synthetic_frames(ROWS, COLS, 45, seed=2)]


@pytest.fixture(scope="session")
def synth_shard(tmp_path_factory, synth_sessions):
    """A shard holding ``synth_sessions``, with commit/file markers in the meta."""
    path = tmp_path_factory.mktemp("view") / "synthetic.tss"
    meta = {"markers": [[0, "a" * 40, "src/main.c"], [30, "b" * 40, "docs/读我.md"]]}
    return write_shard(path, synth_sessions, ROWS, COLS, meta=meta)
