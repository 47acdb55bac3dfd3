"""Which split (train, val or test) a repository belongs to.

The split is a pure function of the repository's *root commit* (the oldest commit of the
replayed first-parent history) and the configured shares: ``u = sha256("sessionforge-split:"
+ root)`` read as a number in [0, 1); ``val`` if ``u < val``, ``test`` if ``u < val + test``,
else ``train``. So it never depends on input order, executor, worker count or resume, a
fork, a mirror or a second URL of one history lands in the same split, adding repositories
moves no other repository, and all sessions of a repository share one split.
"""

from __future__ import annotations

import hashlib

import polars as pl

from sessionforge.pipeline.config import SplitConfig

SPLITS = ("train", "val", "test")
SPLIT_METHOD = "sha256('sessionforge-split:' + root commit) as a fraction in [0, 1)"


def split_fraction(root_commit: str) -> float:
    """The repository's point in [0, 1): the first 8 bytes of a salted sha256 of its root commit."""
    digest = hashlib.sha256(f"sessionforge-split:{root_commit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(root_commit: str, cfg: SplitConfig) -> str:
    """``train``, ``val`` or ``test`` for a repository whose history starts at ``root_commit``."""
    u = split_fraction(root_commit)
    if u < cfg.val:
        return "val"
    if u < cfg.val + cfg.test:
        return "test"
    return "train"


def split_sizes(manifest: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Repositories, sessions and frames per split, every split named (zeros included)."""
    out = {name: {"repositories": 0, "sessions": 0, "frames": 0} for name in SPLITS}
    if manifest.height:
        for row in (manifest.group_by("split").agg(pl.col("repository").n_unique().alias("repositories"),
                                                   pl.len().alias("sessions"), pl.col("frames").sum())
                    .iter_rows(named=True)):
            out[str(row["split"])] = {k: int(row[k]) for k in ("repositories", "sessions", "frames")}
    return out
