"""A dataset folder's layout, and which shard files belong to it.

One place decides which shards belong, so that no reader picks up a build's leftovers (``.build/staging``),
writers' temporary files, or the shards of another dataset nested inside the folder:

1. a finished dataset (``dataset.json``): exactly the shards it lists, in name order;
2. else a ``shards/`` folder (a build still running or killed: ``dataset.json`` is written
   last, and only complete shards are ever moved into ``shards/``): ``shards/*.tss``;
3. else the ``*.tss`` files directly in the folder (hand-made collections of shards).

Never searches subfolders, never returns hidden files. Standard library only (no polars,
no torch): the shard list of ``dataset.json`` is all it needs.
"""

from __future__ import annotations

import json
from pathlib import Path

from sessionforge.dataset.errors import DatasetError

SHARD_SUFFIX = ".tss"
DATASET_JSON = "dataset.json"
SHARDS_DIR = "shards"
MANIFEST = "manifest.parquet"
ERRORS = "errors.parquet"
SKIPPED = "skipped.parquet"
BUILD_STATE = ".build/state.json"  # present while a build of this folder is unfinished


def _visible_shards(folder: Path) -> list[Path]:
    """``folder/*.tss`` without hidden names (e.g. a writer's ``.name.tss.tmp-...``), sorted."""
    return sorted(p for p in folder.glob(f"*{SHARD_SUFFIX}") if not p.name.startswith(".") and p.is_file())


def shard_files_on_disk(root: str | Path) -> list[Path]:
    """Every visible ``*.tss`` file in ``root/shards/``, listed or not (for integrity checks that
    look for shards dataset.json does not name)."""
    return _visible_shards(Path(root) / SHARDS_DIR)


def dataset_shards(root: str | Path) -> list[Path]:
    """The shard files of the dataset folder ``root``, in sorted name order (see the module docstring).

    Raises :class:`DatasetError` if ``dataset.json`` is unreadable or lists a shard that is
    not in ``shards/``. An empty list means the folder holds no shards.
    """
    root = Path(root)
    doc_path = root / DATASET_JSON
    if doc_path.is_file():
        try:
            listed = json.loads(doc_path.read_text())["shards"]
            names = sorted(str(n) for n in listed)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DatasetError(f"{doc_path}: cannot read its shard list ({type(exc).__name__}: {exc})") from None
        bad = [n for n in names if Path(n).name != n or not n.endswith(SHARD_SUFFIX)]
        if bad:
            raise DatasetError(f"{doc_path}: {bad[0]!r} is not a shard file name")
        paths = [root / SHARDS_DIR / n for n in names]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DatasetError(f"{missing[0]}: listed in {doc_path} but missing"
                                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        return paths
    if (root / SHARDS_DIR).is_dir():
        return _visible_shards(root / SHARDS_DIR)
    return _visible_shards(root)


def enclosing_dataset(path: str | Path) -> Path | None:
    """The nearest folder strictly above ``path`` that is a dataset (finished, or being built:
    ``dataset.json`` or ``.build/state.json``), or None."""
    p = Path(path).resolve()
    for parent in p.parents:
        if (parent / DATASET_JSON).is_file() or (parent / BUILD_STATE).is_file():
            return parent
    return None
