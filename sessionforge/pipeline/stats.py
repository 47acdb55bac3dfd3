"""``stats``: totals and distributions of a dataset, from its manifest and skipped-files table
(plus a sample of shards for the most common actions, the one thing the tables do not hold)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from sessionforge.dataset import read_dataset
from sessionforge.dataset.tables import DUPLICATE_STAGE, failures, read_skipped
from sessionforge.errors import SessionforgeError
from sessionforge.files import sha256_file
from sessionforge.formats import open_shard
from sessionforge.pipeline.manifest import frames_by_ext
from sessionforge.dataset.splits import split_sizes

QUANTILES = (0.0, 0.1, 0.5, 0.9, 1.0)


def quantiles(col: pl.Series) -> dict[str, float | None]:
    """min/p10/p50/p90/max and mean of a numeric column (None when empty)."""
    if col.len() == 0:
        return {"min": None, "p10": None, "p50": None, "p90": None, "max": None, "mean": None}
    names = ("min", "p10", "p50", "p90", "max")
    out: dict[str, float | None] = {n: float(col.quantile(q, interpolation="nearest"))
                                    for n, q in zip(names, QUANTILES)}
    out["mean"] = round(float(col.mean()), 3)
    return out


def readable_action(action: bytes) -> str:
    """Action bytes as printable text: ``b"\\x1b[A"`` -> ``\\x1b[A``, ``b"\\r"`` -> ``\\r``."""
    return repr(action)[2:-1] if action else "(none)"


def top_actions(root: Path, listed: dict[str, Any], sample_shards: int, max_frames: int, top: int) -> dict[str, Any]:
    """Most common actions over up to ``max_frames`` frames of evenly spaced sample shards.

    A sampled shard whose sha256 differs from dataset.json is an error: numbers from a
    corrupt or replaced shard would be silently wrong.
    """
    shards = sorted(listed)
    if not shards or sample_shards <= 0:
        return {"sampled_shards": 0, "sampled_frames": 0, "top": []}
    step = max(1, len(shards) // sample_shards)
    picked = shards[::step][:sample_shards]
    counts: Counter[bytes] = Counter()
    seen = 0
    for name in picked:
        path = root / "shards" / name
        if not path.is_file() or sha256_file(path) != listed[name]["sha256"]:
            raise SessionforgeError(f"{path}: missing, or its sha256 does not match dataset.json "
                                    "(corrupt or replaced shard); run `sessionforge verify` for details")
        with open_shard(path) as r:
            for i, info in enumerate(r.sessions):
                stop = min(info.frames, max_frames - seen)
                # Actions only: read_actions skips building the frame planes.
                data, offs = r.read_actions(i, 0, stop)
                ol = offs.tolist()
                counts.update(data[ol[t]:ol[t + 1]] for t in range(stop))
                seen += stop
                if seen >= max_frames:
                    break
        if seen >= max_frames:
            break
    return {"sampled_shards": len(picked), "sampled_frames": seen,
            "top": [{"action": readable_action(a), "count": n, "share": round(n / seen, 5)}
                    for a, n in counts.most_common(top)]}


def dataset_stats(root: str | Path, *, sample_shards: int = 4, sample_frames: int = 200_000,
                  top: int = 20) -> dict[str, Any]:
    """Everything ``sessionforge stats`` shows, as a JSON-able dict."""
    tables = read_dataset(root)
    root, doc, manifest, errors = tables.root, tables.doc, tables.manifest, tables.errors
    frames = manifest["frames"]
    per_session_bpf = (manifest["bytes"] / manifest["frames"]).filter(manifest["frames"] > 0)
    has_split = "split" in manifest.columns
    if not has_split:  # built before splits existed: every session reads as train
        manifest = manifest.with_columns(pl.lit("train").alias("split"))
    repos = (manifest.group_by("input_order", "repository", maintain_order=True)
             .agg(pl.col("split").first(), pl.len().alias("sessions"), pl.col("commits").sum(), pl.col("frames").sum(),
                  pl.col("actions").sum(), pl.col("bytes").sum(), pl.col("lossless_failures").sum())
             .sort("input_order")
             .with_columns((pl.col("bytes") / pl.col("frames")).round(3).alias("bytes_per_frame"))
             .drop("input_order"))
    failed = failures(errors)
    by_stage = failed.group_by("stage").len().sort("stage") if failed.height else None
    dups = errors.filter(pl.col("stage") == DUPLICATE_STAGE) if errors.height else errors
    return {
        "dataset": str(root),
        "totals": doc["totals"],
        "frames_per_session": quantiles(frames),
        "commits_per_session": quantiles(manifest["commits"]),
        "bytes_per_frame_per_session": quantiles(per_session_bpf),
        "actions_per_frame": round(doc["totals"]["action_bytes"] / doc["totals"]["frames"], 3)
        if doc["totals"]["frames"] else None,
        "top_actions": top_actions(root, doc["shards"], sample_shards, sample_frames, top),
        "repositories": repos.to_dicts(),
        "errors_by_stage": {} if by_stage is None else dict(zip(by_stage["stage"], by_stage["len"])),
        "duplicates": dups.select("repository", "message").to_dicts(),
        "frames_by_ext": ext_shares(frames_by_ext(manifest)),
        "skipped_by_reason": skipped_by_reason(doc["totals"].get("skipped", {}), read_skipped(root)),
        "splits": split_sizes(manifest),
        "splits_note": None if has_split else "built before splits: every session reads as train",
    }



def ext_shares(frames: dict[str, int]) -> list[dict[str, Any]]:
    """Frames by file extension, most frames first, with each one's share of all frames."""
    total = sum(frames.values())
    return [{"ext": ext, "frames": n, "share": round(n / total, 5)}
            for ext, n in sorted(frames.items(), key=lambda kv: (-kv[1], kv[0]))]


def skipped_by_reason(counts: dict[str, int], listed: pl.DataFrame) -> list[dict[str, Any]]:
    """Skipped changes by reason: the exact count (manifest totals) and, from skipped.parquet,
    how many are listed there and their bytes. Most skipped first."""
    rows = {r: {"reason": r, "changes": int(n), "listed": 0, "bytes": 0} for r, n in counts.items()}
    if listed.height:
        for r, n, b in listed.group_by("reason").agg(pl.len(), pl.col("bytes").sum()).iter_rows():
            row = rows.setdefault(r, {"reason": r, "changes": 0, "listed": 0, "bytes": 0})
            row["listed"], row["bytes"] = int(n), int(b or 0)
    return sorted(rows.values(), key=lambda r: (-r["changes"], r["reason"]))
