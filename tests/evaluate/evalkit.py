"""A tiny finished dataset with a manifest ``split`` column, for the eval tests.

Frames come from the trainer tests' synthetic typist (``tests/train/synth.py``); the
manifest and ``dataset.json`` are written as ``build-dataset`` writes them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sessionforge.dataset.tables import DATASET_FORMAT, DATASET_FORMAT_VERSION, errors_frame
from sessionforge.files import sha256_file, write_json_atomic
from train.synth import write_synthetic_shard

# shard name -> (seed, split of each session); 160 frames per session.
SPLIT_LAYOUT: dict[str, tuple[int, list[str | None]]] = {
    "a.tss": (1, ["train", "train", "train"]),
    "b.tss": (2, ["val", "test"]),
    "c.tss": (3, ["train", "val"]),
}
FRAMES = 160


def write_split_dataset(root: Path, layout: dict[str, tuple[int, list[str | None]]] = SPLIT_LAYOUT, *,
                        split_column: bool = True) -> Path:
    """A finished dataset folder: ``shards/``, a manifest (with a ``split`` column unless
    ``split_column`` is False), an empty errors table and ``dataset.json``."""
    root = Path(root)
    rows: list[dict] = []
    listed: dict[str, dict] = {}
    for name, (seed, splits) in layout.items():
        path = write_synthetic_shard(root / "shards" / name, sessions=len(splits), frames=FRAMES, seed=seed)
        for s, split in enumerate(splits):
            row = {"id": f"{Path(name).stem}-{s}", "shard": name, "index": s, "frames": FRAMES}
            if split_column:
                row["split"] = split
            rows.append(row)
        listed[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    schema = {"id": pl.String, "shard": pl.String, "index": pl.Int64, "frames": pl.Int64}
    if split_column:
        schema["split"] = pl.String
    pl.DataFrame(rows, schema=schema).write_parquet(root / "manifest.parquet")
    errors_frame([]).write_parquet(root / "errors.parquet")
    write_json_atomic(root / "dataset.json", {"format": DATASET_FORMAT, "format_version": DATASET_FORMAT_VERSION,
                                              "shards": listed})
    return root
