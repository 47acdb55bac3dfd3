"""Helpers of the build tests: tiny generated repositories, a small config, dataset snapshots."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import polars as pl

from gitfactory import RepoFactory
from sessionforge.pipeline.config import BuildConfig

# Small on purpose: several slices, sessions and shards per repository, well under a second of replay.
BUILD_ARGS = ["--session-frames", "30", "--slice-commits", "6", "--shard-size", "1500", "--codec", "zstd",
              "--frame-size", "16x60"]


def make_small_repo(path: Path, commits: int, seed: int, bare: bool = False) -> RepoFactory:
    """A history of tiny edits (a word or a short line per commit): a few hundred frames in all,
    so that replaying it takes well under a second even on a loaded machine."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "x", "y", "ok", "fix"]
    files = {f"f{i}.txt": [rng.choice(words) for _ in range(4)] for i in range(2)}
    f = RepoFactory(path, bare=bare)
    f.commit({p: "\n".join(lines) + "\n" for p, lines in files.items()}, "init")
    for n in range(1, commits):
        p = rng.choice(sorted(files))
        lines = files[p]
        at = rng.randrange(len(lines))
        if rng.random() < 0.5:
            lines[at] = rng.choice(words)
        else:
            lines.insert(at, f"{rng.choice(words)} {n}")
        extra = {"logo.png": bytes([0x89, 0, n])} if n == 2 else {}   # a binary file: skipped, counted
        f.commit({p: "\n".join(lines) + "\n", **extra}, f"c{n}")
    return f


def small_config(executor: str = "local", workers: int | None = None, slice_commits: int = 6) -> BuildConfig:
    """The config of BUILD_ARGS (keep the two in step), for builds through the Python API."""
    cfg = BuildConfig()
    cfg.replay.rows, cfg.replay.cols, cfg.replay.session_frames = 16, 60, 30
    cfg.slice_commits, cfg.shard_size, cfg.codec = slice_commits, "1500", "zstd"
    cfg.run.executor, cfg.run.workers = executor, workers
    return cfg


def sf_command() -> list[str]:
    """The CLI as a subprocess, run by this interpreter."""
    return [sys.executable, "-c", "from sessionforge.cli import main; main()"]


def snapshot(out: Path) -> dict:
    """Everything of a dataset that must be identical between equivalent builds (all but timing)."""
    shards = {p.name: p.read_bytes() for p in sorted((out / "shards").iterdir())}
    manifest = pl.read_parquet(out / "manifest.parquet").drop("seconds")
    errors = pl.read_parquet(out / "errors.parquet")
    doc = json.loads((out / "dataset.json").read_text())
    doc.pop("build")
    return {"shards": shards, "manifest": manifest.to_dicts(), "errors": errors.to_dicts(), "doc": doc}
