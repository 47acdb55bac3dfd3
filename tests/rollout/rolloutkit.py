"""A replayed dataset and a run trained on it, for the rollout tests.

The eval and train fixtures are synthetic shards (no repository behind them); a rollout
rebuilds a session by replaying its slice, so its data must come from ``build-dataset``:
two generated histories (one lands in val, one in train: asserted), 16x64 frames, slices
of 4 commits, sessions of at most 250 frames, and the tiny model of the train tests sized
for those frames.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import yaml

from gitfactory import make_synthetic_history
from sessionforge.cli import main

ROWS, COLS = 16, 64
BUILD = ["--session-frames", "250", "--slice-commits", "4", "--codec", "zstd", "--executor", "local"]


def _main(args: list) -> None:
    """Run the CLI in-process; fail the fixture on a non-zero exit (its stderr is in the test output)."""
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        assert not exc.code, f"sessionforge {args[0]} exited with {exc.code}"


def build_dataset(root: Path, frame_size: str = f"{ROWS}x{COLS}", seeds: tuple[int, ...] = (0, 1),
                  split: str = "val=0.5,test=0") -> Path:
    """A finished dataset of generated histories (commits=6, 2 files each) at ``frame_size``."""
    repos = [make_synthetic_history(root / f"repo{s}", commits=6, seed=s, files=2).path for s in seeds]
    out = root / "data"
    _main(["build-dataset", *repos, "--out", out, "--frame-size", frame_size, "--split-ratio", split, *BUILD])
    return out


def train_run(root: Path, data: Path, rows: int = ROWS, cols: int = COLS) -> Path:
    """`sessionforge train` for 2 steps (checkpoints at 1 and 2) of the tiny model on ``data``."""
    from sessionforge.config import to_dict
    from train.trainkit import tiny_model_config, tiny_run_config

    cfg = tiny_run_config(steps=2, checkpoint_every=1)
    cfg.model = tiny_model_config(rows, cols, layers=1)
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(to_dict(cfg)))
    run = root / "run"
    _main(["train", "--config", config, "--data", data, "--out", run, "--no-progress"])
    return run


def manifest(data: Path) -> pl.DataFrame:
    return pl.read_parquet(data / "manifest.parquet")
