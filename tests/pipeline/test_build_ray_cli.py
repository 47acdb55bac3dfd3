"""`build-dataset --executor ray` as a user runs it: from any folder, with clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from buildkit import make_small_repo

# The installed console script, as a user runs it (`python -c` would put the current folder on
# the driver's own path).
SESSIONFORGE = str(Path(sys.executable).with_name("sessionforge"))


def _build(cwd: Path, out: Path, repo: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    env.pop("RAY_AUTH_MODE", None)
    return subprocess.run([SESSIONFORGE, "build-dataset", str(repo), "--out", str(out), "--executor", "ray",
                           "--workers", "1", "--max-commits", "2", "-q"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ray_build_from_a_folder_holding_a_sessionforge_folder(tmp_path):
    # A checkout's `sessionforge/` in the current folder must not shadow the installed package on
    # Ray's workers (Ray puts the driver's current folder on their path), and a local run shows no
    # Ray token warning. Then a remote failure keeps its cause: the import error itself.
    repo = tmp_path / "repo"
    make_small_repo(repo, commits=2, seed=3)
    cwd = tmp_path / "checkout"
    (cwd / "sessionforge").mkdir(parents=True)   # a namespace package without __version__
    proc = _build(cwd, Path("data"), repo)        # a relative --out too: workers run elsewhere
    assert proc.returncode == 0, proc.stderr
    assert "Token authentication" not in proc.stderr and "Traceback" not in proc.stderr
    manifest = pl.read_parquet(cwd / "data" / "manifest.parquet")
    assert manifest.height >= 1 and manifest["frames"].sum() > 0
