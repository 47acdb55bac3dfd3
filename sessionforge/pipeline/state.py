"""The output folder's layout, resume markers and the guard against mixing configs.

::

    OUT/shards/*.tss            final shards (only complete ones ever appear here)
    OUT/manifest.parquet        one row per session     } written last, from the markers
    OUT/errors.parquet          one row per failure     }
    OUT/dataset.json            config, totals, sha256 per shard
    OUT/.build/state.json       the output config this folder is being built with
    OUT/.build/done/*.json      one completion marker per finished slice (ok or error)
    OUT/.build/staging/<slice>.<attempt>/  a running slice's shards before they move into shards/
    OUT/.cache/repos/           default clone cache (kept by --overwrite)

A slice's marker is written (atomically) only after all its shards are in ``shards/``,
so after a ``kill -9`` a rerun redoes exactly the slices without a marker; since slice
output is deterministic, a slice redone after dying between two shard renames rewrites
the same bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Sequence

from sessionforge import __version__
from sessionforge.errors import SessionforgeError
from sessionforge.dataset.layout import DATASET_JSON, ERRORS, MANIFEST, SHARDS_DIR, SKIPPED
from sessionforge.files import write_atomic, write_json_atomic
from sessionforge.pipeline.jobs import Failure, SliceJob, SliceResult, slice_outcome_from_json

OUR_ENTRIES = (SHARDS_DIR, MANIFEST, ERRORS, SKIPPED, DATASET_JSON, ".build")


class BuildStateError(SessionforgeError):
    """The output folder cannot be used for this build (different config, foreign content)."""


class OutputDir:
    """Paths and markers of one dataset folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.shards = self.root / SHARDS_DIR
        self.build = self.root / ".build"
        self.markers = self.build / "done"
        self.staging = self.build / "staging"
        self.state = self.build / "state.json"
        self.manifest = self.root / MANIFEST
        self.errors = self.root / ERRORS
        self.skipped = self.root / SKIPPED
        self.dataset_json = self.root / DATASET_JSON
        self.default_cache = self.root / ".cache" / "repos"

    def prepare(self, output_config: dict[str, Any], overwrite: bool) -> None:
        """Create the folder, or check it holds a build of the same config; ``overwrite`` starts over."""
        if overwrite:
            self.clear()
        self.check(output_config)
        for d in (self.shards, self.markers, self.staging):
            d.mkdir(parents=True, exist_ok=True)
        if not self.state.is_file():
            write_json_atomic(self.state, {"config": output_config, "sessionforge": __version__})

    def check(self, output_config: dict[str, Any]) -> None:
        """Raise :class:`BuildStateError` unless a build of ``output_config`` may write here."""
        if self.state.is_file():
            old = json.loads(self.state.read_text())
            if old.get("sessionforge") != __version__:
                raise BuildStateError(
                    f"{self.root}: was started by sessionforge {old.get('sessionforge')}, this is {__version__}; "
                    "a resumed build must use the same version (its shards would differ), or pass --overwrite")
            if old.get("config") != output_config:
                diff = first_difference(old.get("config"), output_config)
                raise BuildStateError(
                    f"{self.root}: holds a build with a different config ({diff}); "
                    "rerun with the same config to resume, or pass --overwrite to start over")
        elif self.root.is_dir():
            names = sorted(p.name for p in self.root.iterdir() if p.name not in (".cache", ".build"))
            leftovers = self.build.is_dir() and any(p.name != "lock" for p in self.build.iterdir())
            if leftovers or any(name in OUR_ENTRIES for name in names):
                raise BuildStateError(f"{self.root}: holds an incomplete or old dataset without build state; "
                                      "pass --overwrite to start over")
            if names:
                raise BuildStateError(f"{self.root}: folder is not empty and is not a sessionforge dataset "
                                      f"(found {names[0]!r}); choose another --out")

    def lock(self) -> Any:
        """Hold an exclusive lock on this folder for the life of the returned file object, so two
        builds never write into one folder at once (the kernel drops it if the build is killed)."""
        self.build.mkdir(parents=True, exist_ok=True)
        f = open(self.build / "lock", "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise BuildStateError(f"{self.root}: another build is writing into this folder") from None
        return f

    def clear(self) -> None:
        """Remove everything a build wrote here except the clone cache (and the lock we hold)."""
        for name in OUR_ENTRIES:
            p = self.root / name
            if name == ".build" and p.is_dir():
                for child in p.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child)
                    elif child.name != "lock":
                        child.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def marker_path(self, slice_id: str) -> Path:
        return self.markers / f"{slice_id}.json"

    def read_marker(self, slice_id: str) -> tuple[list[Any] | None, SliceResult | Failure] | None:
        """The marker of a finished slice as ``(plan key, outcome)``, or None (missing or
        unreadable = not finished: the slice is replayed again)."""
        try:
            return slice_outcome_from_json(json.loads(self.marker_path(slice_id).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_marker(self, slice_id: str, doc: dict[str, Any]) -> None:
        write_json_atomic(self.marker_path(slice_id), doc)

    def write_failure_marker(self, job: SliceJob, failure: Failure) -> None:
        """Remember a slice's failure, so a resumed build keeps it unless told to retry."""
        self.write_marker(job.slice_id, {**failure.to_json(), "plan": job.plan_key()})

    def reset_staging(self, recreate: bool = True) -> None:
        """Remove what killed attempts left in staging (no slice runs while the driver does this);
        ``recreate=False`` at the end of a build, so a finished dataset carries no staging folder."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if recreate:
            self.staging.mkdir(parents=True, exist_ok=True)

    def staging_dir(self, slice_id: str) -> Path:
        """A fresh folder for one attempt at a slice: an attempt that outlives its driver can
        never clobber another's files."""
        path = self.staging / f"{slice_id}.{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def publish(self, files: Sequence[Path]) -> None:
        """Move finished shard files into ``shards/`` (atomic renames; the marker commits them)."""
        for f in files:
            os.replace(f, self.shards / f.name)

    def shard_names(self) -> set[str]:
        return {p.name for p in self.shards.glob("*.tss")}

    def delete_shard(self, name: str) -> None:
        (self.shards / name).unlink(missing_ok=True)

    def write_table(self, name: str, data: bytes) -> None:
        """manifest / errors / skipped / dataset.json, atomically; the caller writes dataset.json last."""
        write_atomic(self.root / name, data)



def first_difference(old: Any, new: Any, prefix: str = "") -> str:
    """Human description of the first key where two config dicts differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
    return f"{prefix.rstrip('.') or 'config'}: {old!r} here, {new!r} now"
