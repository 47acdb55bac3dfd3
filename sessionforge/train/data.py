"""What ``train`` accepts as data, checked before the first frame is read.

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

from sessionforge.dataset import DatasetError, DatasetTables, read_dataset, require_intact
from sessionforge.dataset.layout import SHARDS_DIR

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
