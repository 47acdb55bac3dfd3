"""What ``train`` accepts as data, checked before the first frame is read, and which of its
sessions it trains on (:func:`split_sessions`: the manifest's split column, by repository).

A dataset folder must be a finished dataset (``dataset.json`` present: a build that has
not finished may still be writing, and nothing says which shards belong), and every
shard it lists must have the size and sha256 that ``dataset.json`` records. Digests are
remembered in ``RUN/dataset-check.json`` per (path, size, mtime), so a resume does not
hash the dataset again. Shard files given directly are not part of any dataset.json
and are taken as they are (the formats reader still checks every block's checksum as
it reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from sessionforge.dataset import DatasetError, DatasetTables, SessionRef, ShardSet, read_dataset, require_intact
from sessionforge.dataset.layout import SHARDS_DIR, dataset_shards
from sessionforge.dataset.splits import SPLITS, restrict, session_splits

CHECK_MEMO = "dataset-check.json"


def data_items(data: str | Path | Sequence[str | Path]) -> list[Path]:
    """``--data`` as a list of paths."""
    return [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in data]


def memo_path(run: Path, k: int) -> Path:
    """Where the digests of the ``k``-th dataset folder are remembered (one file per folder:
    a check rewrites its file with its own shards only)."""
    return Path(run) / (CHECK_MEMO if k == 0 else f"dataset-check-{k}.json")


def check_training_data(data: str | Path | Sequence[str | Path], run: Path, *, verify: bool = True) -> list[DatasetTables]:
    """Refuse (:class:`DatasetError`, naming the folder or shard and the problem) a dataset
    folder that is not a finished dataset or whose shards differ from its ``dataset.json``.

    ``verify=False`` skips the sha256 (the sizes are still compared: that costs nothing).
    Returns the tables of the dataset folders, in ``data`` order.
    """
    tables = []
    for item in data_items(data):
        if item.is_dir():
            tables.append(read_dataset(item))
    for k, t in enumerate(tables):
        if verify:
            require_intact(t, remembered=memo_path(run, k))
        else:
            _require_sizes(t)
    return tables


def _require_sizes(tables: DatasetTables) -> None:
    for name, want in sorted(tables.listed_shards.items()):
        path = tables.root / SHARDS_DIR / name
        if not path.is_file():
            raise DatasetError(f"{tables.root}: {SHARDS_DIR}/{name}: missing")
        size = path.stat().st_size
        if size != want["bytes"]:
            raise DatasetError(f"{tables.root}: {SHARDS_DIR}/{name}: {size} bytes, dataset.json says {want['bytes']}")


def split_sessions(shards: ShardSet, data: str | Path | Sequence[str | Path], split: str
                   ) -> tuple[list[SessionRef], dict[str, int]]:
    """The sessions of ``shards`` (a ShardSet of ``data``) in ``split`` (``all``: every one), in
    order, and the number of sessions per split. Each dataset folder's sessions are labelled by
    its own manifest; shard files and datasets built before splits count as train."""
    labels: list[str] = []
    offset = 0
    for item, manifest in zip(data_items(data), _manifests(data)):
        n = len(dataset_shards(item)) if item.is_dir() else 1  # the shards ShardSet took from it
        mine = [r for r in shards.sessions if offset <= r.shard < offset + n]
        labels += session_splits(restrict(shards, mine), manifest)
        offset += n
    counts = {name: labels.count(name) for name in SPLITS}
    if split == "all":
        return list(shards.sessions), counts
    return [ref for ref, label in zip(shards.sessions, labels) if label == split], counts


def _manifests(data: str | Path | Sequence[str | Path]) -> list:
    """Each item's manifest (None for a shard file); an unfinished dataset folder is refused here."""
    return [read_dataset(item).manifest if item.is_dir() else None for item in data_items(data)]


def describe_counts(counts: dict[str, int]) -> str:
    """``train 3, val 0, test 0``."""
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def training_sessions(data: str | Path | Sequence[str | Path], split: str) -> ShardSet:
    """The ShardSet of ``data`` restricted to ``split``'s sessions; a one-line DatasetError when
    there are none (a one-repository dataset lands wholly in one split)."""
    _manifests(data)  # a folder that is not a finished dataset is refused before its shards are opened
    shards = ShardSet(data)
    chosen, counts = split_sessions(shards, data, split)
    if not chosen:
        where = ", ".join(str(p) for p in data_items(data))
        raise DatasetError(
            f"{where}: the {split!r} split holds no session (sessions per split: {describe_counts(counts)}); "
            "train with --split all, or rebuild with build-dataset --split-ratio val=0,test=0 "
            "(a dataset of one repository lands wholly in one split)"
        )
    return restrict(shards, chosen)


def validation_sessions(data: str | Path | Sequence[str | Path], from_val_data: bool) -> ShardSet:
    """The ShardSet of ``data`` restricted to its val sessions, for ``train.eval_every``; a
    one-line DatasetError naming the way out when there are none."""
    _manifests(data)
    shards = ShardSet(data)
    chosen, counts = split_sessions(shards, data, "val")
    if not chosen:
        where = ", ".join(str(p) for p in data_items(data))
        hint = ("" if from_val_data else
                "give --val-data (e.g. later commits: build-dataset --set replay.start_commit=C "
                "--split-ratio val=1,test=0) or ")
        raise DatasetError(
            f"{where}: train.eval_every needs val sessions and the val split holds none (sessions per split: "
            f"{describe_counts(counts)}); {hint}set train.eval_every=0"
        )
    return restrict(shards, chosen)
