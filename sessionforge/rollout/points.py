"""Hand-over points: which frame of which recorded session a rollout starts from.

A point names a manifest row (a session made by ``build-dataset``: its repository, slice and
number within the slice are what rebuilding it needs) and a frame of that session.
``--session ID --at F`` gives one; ``--runs R`` draws R from the val split
(:func:`draw_points`): every frame of every val session that leaves at least one recorded
key after it is equally likely (frames leaving ``--keys`` recorded keys are preferred: a
session long enough has only those drawn), with a ``numpy`` generator seeded by ``--seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sessionforge.dataset import ShardSet
from sessionforge.dataset.splits import select_split
from sessionforge.errors import SessionforgeError

NEED = ("id", "shard", "index", "frames", "repository", "slice", "slice_session")


class RolloutError(SessionforgeError):
    """A rollout cannot be made as asked (bad point, data that cannot be rebuilt, a mismatch)."""


@dataclass(frozen=True)
class Point:
    """A hand-over point: frame ``frame`` of the session of manifest row ``id``."""

    id: str
    shard: Path
    index: int  # session index inside the shard
    frames: int  # frames of the session
    frame: int
    repository: str
    slice: int
    slice_session: int  # the session's number within its slice (0 = the slice's first)

    def label(self) -> str:
        return f"{self.id}@{self.frame}"


def _rows(root: Path, manifest: pl.DataFrame) -> pl.DataFrame:
    missing = set(NEED) - set(manifest.columns)
    if missing:
        raise RolloutError(f"{root}: the manifest lacks {sorted(missing)}: its sessions cannot be rebuilt "
                           "(rollout needs a dataset made by build-dataset)")
    return manifest.filter(pl.col("shard").is_not_null())


def manifest_point(root: Path, manifest: pl.DataFrame, spec: str, frame: int) -> Point:
    """The point of ``--session spec --at frame`` (spec: a manifest id or a row number)."""
    rows = _rows(root, manifest)
    ids = [str(x) for x in rows["id"].to_list()]
    if not ids:
        raise RolloutError(f"{root}: the dataset holds no sessions")
    if spec in ids:
        k = ids.index(spec)
    elif spec.isdigit() and int(spec) < rows.height:
        k = int(spec)
    else:
        raise RolloutError(f"{root}: no session {spec!r} (ids look like {ids[0]!r}; a row number "
                           f"0..{rows.height - 1} also works)")
    return point_of_row(root, rows.row(k, named=True), frame)


def point_of_row(root: Path, row: dict[str, Any], frame: int) -> Point:
    """A :class:`Point` at ``frame`` of a manifest row; the frame must lie in the session."""
    frames = int(row["frames"])
    if not 0 <= frame < frames:
        raise RolloutError(f"--at {frame}: outside session {row['id']} (it has {frames} frames: 0..{frames - 1})")
    shard = root / "shards" / Path(str(row["shard"])).name
    return Point(str(row["id"]), shard, int(row["index"]), frames, frame, str(row["repository"]),
                 int(row["slice"]), int(row["slice_session"]))


def draw_points(root: Path, manifest: pl.DataFrame, shards: ShardSet, runs: int, keys: int, seed: int) -> list[Point]:
    """``runs`` points drawn from the val split (see the module doc), in draw order."""
    rows = _rows(root, manifest)
    val = select_split(shards, manifest, "val")  # clear errors: no split column, an empty split
    by_key = {(Path(str(r["shard"])).name, int(r["index"])): r for r in rows.iter_rows(named=True)}
    sessions, last = [], []
    for ref in val:
        row = by_key.get((shards.paths[ref.shard].name, ref.session))
        if row is None or int(row["frames"]) < 2:
            continue
        n = int(row["frames"])
        sessions.append(row)
        last.append(n - 1 - keys if n - 1 > keys else n - 2)  # the last frame a point may take
    if not sessions:
        raise RolloutError(f"{root}: no val session has two frames or more: nothing to roll out from")
    weights = np.asarray(last, np.float64) + 1  # (S,) frames a point may take per session
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(sessions), size=runs, p=weights / weights.sum())
    return [point_of_row(root, sessions[int(k)], int(rng.integers(0, last[int(k)] + 1))) for k in picks]


__all__ = ["Point", "RolloutError", "draw_points", "manifest_point", "point_of_row"]
