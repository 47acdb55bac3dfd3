"""Splits: which split a repository belongs to, and which sessions of a
:class:`~sessionforge.dataset.sessions.ShardSet` belong to a split.

**Assignment** (the build calls :func:`assign_split` once per repository): a pure function
of the repository's *root commit* (the oldest commit of the replayed first-parent history)
and the shares: ``u = sha256("sessionforge-split:" + root)`` read as a number in [0, 1);
``val`` if ``u < val``, ``test`` if ``u < val + test``, else ``train``. So it never depends on
input order, executor, worker count or resume, a fork, a mirror or a second URL of one history
lands in the same split, adding repositories moves no other repository, and all sessions of
a repository share one split.

**Selection**:
The build writes a ``split`` column (``train``, ``val`` or ``test``; one value per repository)
into ``manifest.parquet``. A session of a ShardSet is matched to its manifest row by the
shard's file name (the manifest's ``shard`` column) and its index inside that shard (the
``index`` column; ``session`` in older manifests).

Datasets built before splits existed have no ``split`` column, and shard files given
without a dataset have no manifest at all: every session then counts as ``train``. Asking
such data for ``val`` or ``test`` is an error, never an empty or silently in-sample
result. A row whose split is null counts as ``train`` too: a session of unknown origin
may be trained on, but it must never be reported as held out.

Used by ``eval`` (held-out frames, baselines fitted on ``train``) and meant for ``train``.
Data side: polars, no torch.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import polars as pl

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.sessions import SessionRef, ShardSet

SPLITS = ("train", "val", "test")
SPLIT_COLUMN = "split"
UNSPLIT = "train"  # what a session counts as when its data records no split
SPLIT_METHOD = "sha256('sessionforge-split:' + root commit) as a fraction in [0, 1)"


def has_splits(manifest: pl.DataFrame | None) -> bool:
    """Whether ``manifest`` records a split per session (a ``split`` column)."""
    return manifest is not None and SPLIT_COLUMN in manifest.columns


def session_splits(shards: ShardSet, manifest: pl.DataFrame | None) -> list[str]:
    """The split of every session of ``shards``, in ``shards.sessions`` order.

    Without a manifest or a ``split`` column every session is ``train``. Raises
    :class:`DatasetError` when the manifest lacks the columns to match sessions, names an
    unknown split, or has no row for a session of ``shards``.
    """
    if not has_splits(manifest):
        return [UNSPLIT] * len(shards.sessions)
    assert manifest is not None
    index_col = "index" if "index" in manifest.columns else "session"
    missing = {"shard", index_col} - set(manifest.columns)
    if missing:
        raise DatasetError(f"manifest lacks column(s) {sorted(missing)}: cannot match sessions to splits")
    rows = manifest.filter(pl.col("shard").is_not_null() & pl.col(index_col).is_not_null())
    by_session: dict[tuple[str, int], str] = {}
    for shard, index, split in zip(rows["shard"].to_list(), rows[index_col].to_list(), rows[SPLIT_COLUMN].to_list()):
        split = UNSPLIT if split is None else str(split)
        if split not in SPLITS:
            raise DatasetError(f"manifest: shard {shard} session {index} has split {split!r} "
                               f"(known: {', '.join(SPLITS)})")
        by_session[(Path(str(shard)).name, int(index))] = split
    out = []
    for ref in shards.sessions:
        key = (shards.paths[ref.shard].name, ref.session)
        if key not in by_session:
            raise DatasetError(f"{shards.paths[ref.shard]}: session {ref.session} has no manifest row "
                               "(the manifest and the shards disagree; run `sessionforge verify`)")
        out.append(by_session[key])
    return out


def select_split(shards: ShardSet, manifest: pl.DataFrame | None, split: str) -> list[SessionRef]:
    """The sessions of ``shards`` in ``split``, in ``shards.sessions`` order.

    Raises :class:`DatasetError` for an unknown split name, for ``val``/``test`` on data that
    records no splits (suggesting ``--split train``), and when the split holds no session.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    where = shards.paths[0].parent if shards.paths else "the data"
    if split != UNSPLIT and not has_splits(manifest):
        why = "its manifest has no split column (built before splits)" if manifest is not None else "it has no manifest"
        raise DatasetError(
            f"{where}: no {split!r} split: {why}, so every session counts as train. "
            f"Use --split train (in-sample: the numbers are not held out), or rebuild the dataset "
            f"with splits (build-dataset --split-ratio val=0.05,test=0.05)"
        )
    labels = session_splits(shards, manifest)
    chosen = [ref for ref, s in zip(shards.sessions, labels) if s == split]
    if not chosen:
        counts = {name: labels.count(name) for name in SPLITS}
        raise DatasetError(f"{where}: the {split!r} split holds no session "
                           f"(sessions per split: {', '.join(f'{k} {v}' for k, v in counts.items())})")
    return chosen


def restrict(shards: ShardSet, sessions: list[SessionRef]) -> ShardSet:
    """A shallow copy of ``shards`` whose ``sessions`` are ``sessions`` (e.g. one split's), for
    readers that walk ``ShardSet.sessions`` such as the training loader."""
    out = copy.copy(shards)
    out.sessions = list(sessions)
    return out


__all__ = ["SPLITS", "SPLIT_COLUMN", "UNSPLIT", "has_splits", "restrict", "select_split", "session_splits"]


def split_fraction(root_commit: str) -> float:
    """The repository's point in [0, 1): the first 8 bytes of a salted sha256 of its root commit."""
    digest = hashlib.sha256(f"sessionforge-split:{root_commit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(root_commit: str, val: float, test: float) -> str:
    """``train``, ``val`` or ``test`` for a repository whose history starts at ``root_commit``,
    with shares ``val`` and ``test`` of all repositories held out."""
    u = split_fraction(root_commit)
    if u < val:
        return "val"
    if u < val + test:
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
