"""A finished dataset's tables: ``dataset.json``, ``manifest.parquet``, ``errors.parquet`` and
``skipped.parquet``.

The schemas live here, on the read side, because they are the dataset's format; the
pipeline imports them to write the tables. A dataset is *finished* when ``dataset.json``
exists: the build writes it last, after every shard and the tables.

``errors.parquet`` also holds one row per input that was not built because it duplicates
an earlier one (stage :data:`DUPLICATE_STAGE`: same root commit, e.g. a fork, a mirror or a
second URL); those rows are not failures. ``skipped.parquet`` lists the changes replay did
not type, one row per skipped path per commit (at most 10,000 per slice; ``dataset.json``'s
``totals.skipped`` has the exact counts and ``totals.skipped_files_unlisted`` what the cap left out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.layout import BUILD_STATE, DATASET_JSON, ERRORS, MANIFEST, SHARDS_DIR, SKIPPED

DATASET_FORMAT = "sessionforge-dataset"
DATASET_FORMAT_VERSION = 1

BASE_SCHEMA: dict[str, Any] = {
    "id": pl.String, "shard": pl.String, "index": pl.Int64, "repository": pl.String,
    "input_order": pl.Int64, "slice": pl.Int64, "slice_session": pl.Int64,
    "first_commit": pl.String, "last_commit": pl.String,
    "commits": pl.Int64, "frames": pl.Int64, "actions": pl.Int64, "bytes": pl.Int64,
}
# frames_by_ext: the session's frames by the extension of the file they type (replay markers)
FRAMES_BY_EXT = pl.List(pl.Struct({"ext": pl.String, "frames": pl.Int64}))
TAIL_SCHEMA: dict[str, Any] = {
    "lossless_failures": pl.Int64, "license": pl.String, "language": pl.String, "stars": pl.Int64,
    "split": pl.String, "frames_by_ext": FRAMES_BY_EXT, "seconds": pl.Float64,
}
ERROR_SCHEMA: dict[str, Any] = {
    "repository": pl.String, "input_order": pl.Int64, "slice": pl.Int64, "stage": pl.String, "message": pl.String,
}
DUPLICATE_STAGE = "duplicate"   # an errors.parquet row of an input built as another (not a failure)
SKIPPED_SCHEMA: dict[str, Any] = {
    "repository": pl.String, "commit": pl.String, "path": pl.String, "reason": pl.String, "bytes": pl.Int64,
}


def errors_frame(errors: list[dict[str, Any]]) -> pl.DataFrame:
    """Error rows as a DataFrame of :data:`ERROR_SCHEMA` (empty rows give an empty table)."""
    return pl.DataFrame(errors, schema=ERROR_SCHEMA) if errors else pl.DataFrame(schema=ERROR_SCHEMA)


def skipped_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Skipped-change rows as a DataFrame of :data:`SKIPPED_SCHEMA`."""
    return pl.DataFrame(rows, schema=SKIPPED_SCHEMA) if rows else pl.DataFrame(schema=SKIPPED_SCHEMA)


def failures(errors: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``errors`` that are failures (not duplicates)."""
    return errors.filter(pl.col("stage") != DUPLICATE_STAGE) if errors.height else errors


def read_skipped(root: str | Path) -> pl.DataFrame:
    """``root/skipped.parquet``; an empty table for a dataset built before it existed."""
    path = Path(root) / SKIPPED
    if not path.is_file():
        return skipped_frame([])
    try:
        return pl.read_parquet(path, glob=False)
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        raise DatasetError(f"{path}: cannot read the skipped-files table ({exc})") from None


@dataclass(frozen=True)
class DatasetTables:
    """What a finished dataset says about itself."""

    root: Path
    doc: dict[str, Any]        # dataset.json
    manifest: pl.DataFrame     # one row per session
    errors: pl.DataFrame       # one row per failed repository or slice

    @property
    def listed_shards(self) -> dict[str, dict[str, Any]]:
        """Shard name -> ``{"sha256", "bytes"}`` as dataset.json records it."""
        return self.doc["shards"]


def read_manifest(root: str | Path) -> pl.DataFrame:
    """``root/manifest.parquet`` as a DataFrame; :class:`DatasetError` if it is missing or unreadable."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{path}: no such manifest")
    try:
        return pl.read_parquet(path, glob=False)  # glob=False: paths may hold "["
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        raise DatasetError(f"{path}: cannot read the manifest ({exc})") from None


def read_dataset(root: str | Path) -> DatasetTables:
    """Read dataset.json, the manifest and the errors table of a finished dataset.

    Raises :class:`DatasetError` naming the folder and the reason when ``root`` is not a
    dataset, is an unfinished build, or its tables cannot be read.
    """
    root = Path(root)
    doc_path = root / DATASET_JSON
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    if not doc_path.is_file():
        if (root / BUILD_STATE).is_file() or (root / SHARDS_DIR).is_dir():
            raise DatasetError(f"{root}: not a finished dataset (no dataset.json: a build that has not "
                               "finished); run the same build-dataset command again to finish it")
        raise DatasetError(f"{root}: not a sessionforge dataset (no dataset.json, no shards/); "
                           "build one with `sessionforge build-dataset REPO --out DIR`")
    try:
        doc = json.loads(doc_path.read_text())
        manifest = read_manifest(root)
        errors = pl.read_parquet(root / ERRORS, glob=False) if (root / ERRORS).is_file() else errors_frame([])
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        raise DatasetError(f"{root}: cannot read the dataset's tables: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != DATASET_FORMAT \
            or doc.get("format_version") != DATASET_FORMAT_VERSION:
        got = doc.get("format") if isinstance(doc, dict) else None
        ver = doc.get("format_version") if isinstance(doc, dict) else None
        raise DatasetError(f"{doc_path}: unknown dataset format {got!r} version {ver!r}")
    return DatasetTables(root, doc, manifest, errors)
