"""The dataset's tables and summary: ``manifest.parquet``, ``errors.parquet``, ``skipped.parquet``,
``dataset.json``.

They are written last, from the slice results (live or read back from markers), in an
order that derives from the inputs alone: (input order, slice, session). So two builds
of the same inputs and config give the same tables whatever ran them; only the
``seconds`` column and the ``build`` block of dataset.json record timing.

Inputs that duplicate an earlier one (same root commit) are rows of ``errors.parquet`` with
stage ``duplicate``: they are counted in ``totals.repositories_duplicate``, never as failed.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sessionforge import __version__, formats
from sessionforge.dataset.layout import DATASET_JSON, ERRORS, MANIFEST, SKIPPED
from sessionforge.dataset.splits import SPLIT_METHOD, split_sizes
from sessionforge.dataset.tables import (
    BASE_SCHEMA, DATASET_FORMAT, DATASET_FORMAT_VERSION, DUPLICATE_STAGE, TAIL_SCHEMA, errors_frame,
    failures, skipped_frame,
)
from sessionforge.pipeline.jobs import Failure, ShardRecord, SliceJob, SliceResult
from sessionforge.pipeline.output import BuildOutput

@dataclass
class Collected:
    """Session rows, error rows and shard records gathered from all slices, in dataset order."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    shards: list[ShardRecord] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)   # skipped.parquet rows
    skipped_unlisted: int = 0                                     # skipped changes past the per-slice cap
    replay_seconds: float = 0.0

    def add_slice(self, job: SliceJob, meta: dict[str, Any], outcome: SliceResult | Failure) -> None:
        """Add one slice's outcome: its sessions as manifest rows, or its failure as an error row."""
        if isinstance(outcome, Failure):
            self.add_error(job.identity, job.order, job.slice, outcome.stage, outcome.message)
            return
        for n, s in enumerate(outcome.sessions):
            row = {"id": f"{job.slice_id}-{n:04d}", "shard": s.shard, "index": s.index, "repository": job.identity,
                   "input_order": job.order, "slice": job.slice, "slice_session": n,
                   "first_commit": s.first_commit, "last_commit": s.last_commit, "commits": s.commits,
                   "frames": s.frames, "actions": s.actions, "bytes": s.bytes,
                   "lossless_failures": s.lossless_failures, "license": meta.get("license"),
                   "language": meta.get("language"), "stars": meta.get("stars"), "split": meta.get("split"),
                   "frames_by_ext": [{"ext": k, "frames": v} for k, v in sorted(s.frames_by_ext.items())],
                   "seconds": s.seconds}
            for reason, count in s.skipped.items():
                row[f"skipped_{reason}"] = count
            self.sessions.append(row)
            self.replay_seconds += s.seconds
        self.shards.extend(outcome.shards)
        self.skipped.extend({"repository": job.identity, "commit": c, "path": p, "reason": r, "bytes": b}
                            for c, p, r, b in outcome.skipped)
        self.skipped_unlisted += outcome.skipped_unlisted

    def add_error(self, identity: str, order: int | None, slice_index: int | None, stage: str, message: str) -> None:
        self.errors.append({"repository": identity, "input_order": order, "slice": slice_index,
                            "stage": stage, "message": message})

    def add_duplicate(self, identity: str, order: int, original: str, root_commit: str) -> None:
        """An input not built because the earlier input ``original`` has the same history."""
        self.add_error(identity, order, None, DUPLICATE_STAGE,
                       f"duplicate of {original} (same root commit {root_commit})")


def manifest_frame(sessions: list[dict[str, Any]]) -> pl.DataFrame:
    """The manifest as a DataFrame; ``skipped_<reason>`` columns are the union of reasons, 0-filled."""
    reasons = sorted({k for row in sessions for k in row if k.startswith("skipped_")})
    schema = dict(BASE_SCHEMA)
    schema.update({r: pl.Int64 for r in reasons})
    schema.update(TAIL_SCHEMA)
    rows = [{k: row.get(k, 0 if k in reasons else None) for k in schema} for row in sessions]
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def totals(manifest: pl.DataFrame, errors: pl.DataFrame, n_resolved: int, filtered: int) -> dict[str, Any]:
    """Dataset totals from the two tables (deterministic: no timing).

    ``n_resolved`` counts the repositories the inputs resolved to; an INPUT that resolved
    to none (missing path, not a repository) is one more repository, and a failed one.
    """
    failed_rows = failures(errors)
    failed = failed_rows["repository"].n_unique() if failed_rows.height else 0
    duplicates = errors.height - failed_rows.height
    unresolved = errors.filter(pl.col("input_order").is_null())["repository"].n_unique() if errors.height else 0
    skipped = {c.removeprefix("skipped_"): int(manifest[c].sum()) for c in manifest.columns if c.startswith("skipped_")}

    def total(col: str) -> int:
        return int(manifest[col].sum()) if manifest.height else 0

    frames, nbytes = total("frames"), total("bytes")
    return {
        "repositories": n_resolved + unresolved, "repositories_ok": n_resolved + unresolved - failed - duplicates,
        "repositories_failed": failed, "repositories_duplicate": duplicates, "filtered_out": filtered,
        "sessions": manifest.height,
        "commits": total("commits"), "frames": frames, "action_bytes": total("actions"), "bytes": nbytes,
        "bytes_per_frame": round(nbytes / frames, 4) if frames else None,
        "skipped": skipped, "lossless_failures": total("lossless_failures"),
        "frames_by_ext": frames_by_ext(manifest),
        "splits": split_sizes(manifest),
    }


def frames_by_ext(manifest: pl.DataFrame) -> dict[str, int]:
    """Frames by file extension over all sessions (the manifest's ``frames_by_ext`` column)."""
    if not manifest.height or "frames_by_ext" not in manifest.columns:
        return {}
    parts = manifest.select(pl.col("frames_by_ext").explode()).unnest("frames_by_ext").drop_nulls()
    sums = parts.group_by("ext").agg(pl.col("frames").sum()).sort("ext")
    return {str(e): int(n) for e, n in zip(sums["ext"], sums["frames"])}



def parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    return buf.getvalue()


def write_dataset_tables(outdir: BuildOutput, collected: Collected, output_config: dict[str, Any], inputs: list[str],
                         filtered: int, build_info: dict[str, Any]) -> dict[str, Any]:
    """Write errors, manifest, then dataset.json (last: its presence means the dataset is complete)."""
    manifest = manifest_frame(collected.sessions)
    # input errors (no input order) first, then by input order and slice: stable, so deterministic
    collected.errors.sort(key=lambda e: (-1 if e["input_order"] is None else e["input_order"],
                                         -1 if e["slice"] is None else e["slice"]))
    errors = errors_frame(collected.errors)
    outdir.write_table(ERRORS, parquet_bytes(errors))
    # Its rows are already in dataset order: slices are collected in (input order, slice) order.
    outdir.write_table(SKIPPED, parquet_bytes(skipped_frame(collected.skipped)))
    outdir.write_table(MANIFEST, parquet_bytes(manifest))
    tot = totals(manifest, errors, len(inputs), filtered)
    tot["shards"] = len(collected.shards)
    tot["skipped_files_listed"] = len(collected.skipped)
    tot["skipped_files_unlisted"] = collected.skipped_unlisted
    doc = {
        "format": DATASET_FORMAT, "format_version": DATASET_FORMAT_VERSION,
        "sessionforge_version": __version__, "termstream_version": _termstream_version(),
        "config": output_config, "inputs": inputs, "totals": tot,
        "splits": {**output_config["split"], "train": round(1 - output_config["split"]["val"]
                                                              - output_config["split"]["test"], 12),
                   "method": SPLIT_METHOD},
        "shards": {s.name: {"sha256": s.sha256, "bytes": s.bytes} for s in collected.shards},
        "build": build_info,
    }
    outdir.write_table(DATASET_JSON, (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode())
    return doc


def _termstream_version() -> Any:
    return getattr(formats, "FORMAT_VERSION", getattr(formats, "VERSION", None))
