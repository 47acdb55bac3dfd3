"""A build's output in object storage (``--out s3://bucket/prefix``, any fsspec URL).

The layout is the local one (:mod:`sessionforge.pipeline.state`), with one difference forced by
object stores, which have no rename: a shard object may exist before its slice is finished, so
the *completion marker* (``.build/done/<slice>.json``, written after every shard of the slice
is uploaded) is the commit point. The driver trusts a slice only through its marker, lists in
``dataset.json`` only the shards of marked slices, deletes any other shard object at the end,
and writes ``dataset.json`` last. An upload cut off half-way is either no object at all (a
single PUT) or an object no marker names, so it never appears as a finished shard.

Workers write their shards into a local scratch folder and upload them: no node needs a
shared filesystem. The lock against two builds at once is a local file on the driver's
machine (object stores have no locks): it protects one machine, not a cluster of drivers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from sessionforge import __version__
from sessionforge.dataset.layout import DATASET_JSON, ERRORS, MANIFEST, SHARDS_DIR, SKIPPED
from sessionforge.dataset.remote import open_store, store_error
from sessionforge.errors import SessionforgeError
from sessionforge.pipeline.jobs import Failure, SliceJob, SliceResult, slice_outcome_from_json
from sessionforge.pipeline.state import OUR_ENTRIES, BuildStateError, first_difference

LOCAL_ROOT = Path(os.environ.get("SESSIONFORGE_CACHE", Path.home() / ".cache" / "sessionforge"))


class StoreOutput:
    """The same interface as :class:`~sessionforge.pipeline.state.OutputDir`, over fsspec."""

    def __init__(self, url: str) -> None:
        self.root = url.rstrip("/")
        self.fs, self.path = open_store(self.root)
        key = hashlib.sha256(self.root.encode()).hexdigest()[:16]
        # Clones cannot live in the store: each machine keeps its own cache of them.
        self.default_cache = LOCAL_ROOT / "repos"
        self._lock_path = LOCAL_ROOT / "locks" / f"{key}.lock"
        self._scratch = Path(tempfile.gettempdir()) / "sessionforge-staging" / key

    # -- paths in the store ---------------------------------------------------------------
    def _p(self, *parts: str) -> str:
        return "/".join([self.path, *parts])

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError:
            raise
        except SessionforgeError:
            raise
        except Exception as exc:  # credentials, a missing bucket, the network: one line
            raise store_error(f"{self.root}/{what}", exc) from None

    def _read_json(self, *parts: str) -> Any:
        try:
            return json.loads(self._call("/".join(parts), self.fs.cat_file, self._p(*parts)))
        except FileNotFoundError:
            return None

    def _write(self, data: bytes, *parts: str) -> None:
        # One PUT: the object appears whole or not at all.
        self._call("/".join(parts), self.fs.pipe_file, self._p(*parts), data)

    # -- the driver's side ----------------------------------------------------------------
    def check(self, output_config: dict[str, Any]) -> None:
        """Raise :class:`BuildStateError` unless a build of ``output_config`` may write here."""
        old = self._read_json(".build", "state.json")
        if old is not None:
            if old.get("sessionforge") != __version__:
                raise BuildStateError(f"{self.root}: was started by sessionforge {old.get('sessionforge')}, this is "
                                      f"{__version__}; resume with the same version, or pass --overwrite")
            if old.get("config") != output_config:
                raise BuildStateError(f"{self.root}: holds a build with a different config "
                                      f"({first_difference(old.get('config'), output_config)}); rerun with the "
                                      "same config to resume, or pass --overwrite to start over")
            return
        names = self._names()
        if any(n in OUR_ENTRIES for n in names):
            raise BuildStateError(f"{self.root}: holds an incomplete or old dataset without build state; "
                                  "pass --overwrite to start over")
        if names:
            raise BuildStateError(f"{self.root}: is not empty and is not a sessionforge dataset "
                                  f"(found {names[0]!r}); choose another --out")

    def _names(self) -> list[str]:
        try:
            listed = self._call("", self.fs.ls, self.path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listed)

    def prepare(self, output_config: dict[str, Any], overwrite: bool) -> None:
        """Check (or clear, with ``overwrite``) the prefix and record the build's config."""
        if overwrite:
            self.clear()
        self.check(output_config)
        if self._read_json(".build", "state.json") is None:
            body = {"config": output_config, "sessionforge": __version__}
            self._write((json.dumps(body, sort_keys=True, indent=1) + "\n").encode(), ".build", "state.json")

    def clear(self) -> None:
        """Delete every object a build wrote under the prefix."""
        for name in OUR_ENTRIES:
            try:
                self._call(name, self.fs.rm, self._p(name), recursive=True)
            except FileNotFoundError:
                pass

    @contextmanager
    def lock(self) -> Iterator[None]:
        """A local lock for this URL: two builds on this machine never write it at once."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "w") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise BuildStateError(f"{self.root}: another build on this machine is writing it") from None
            yield

    def reset_staging(self, recreate: bool = True) -> None:
        """Nothing to do: workers stage in their own scratch folders and clean them up."""

    def read_marker(self, slice_id: str) -> tuple[list[Any] | None, SliceResult | Failure] | None:
        """A finished slice's ``(plan key, outcome)``, or None (missing or unreadable)."""
        try:
            doc = self._read_json(".build", "done", f"{slice_id}.json")
            return None if doc is None else slice_outcome_from_json(doc)
        except (ValueError, KeyError, TypeError):
            return None

    def write_marker(self, slice_id: str, doc: dict[str, Any]) -> None:
        self._write((json.dumps(doc, sort_keys=True, indent=1) + "\n").encode(), ".build", "done", f"{slice_id}.json")

    def write_failure_marker(self, job: SliceJob, failure: Failure) -> None:
        """Remember a slice's failure, so a resumed build keeps it unless told to retry."""
        self.write_marker(job.slice_id, {**failure.to_json(), "plan": job.plan_key()})

    def shard_names(self) -> set[str]:
        try:
            found = self._call(SHARDS_DIR, self.fs.ls, self._p(SHARDS_DIR), detail=False)
        except FileNotFoundError:
            return set()
        return {p.rsplit("/", 1)[-1] for p in found if p.endswith(".tss")}

    def delete_shard(self, name: str) -> None:
        self._call(f"{SHARDS_DIR}/{name}", self.fs.rm, self._p(SHARDS_DIR, name))

    def write_table(self, name: str, data: bytes) -> None:
        """manifest / errors / skipped / dataset.json; the caller writes dataset.json last."""
        assert name in (MANIFEST, ERRORS, SKIPPED, DATASET_JSON), name
        self._write(data, name)

    # -- a worker's side ------------------------------------------------------------------
    def staging_dir(self, slice_id: str) -> Path:
        """A fresh local folder for one attempt at a slice."""
        path = self._scratch / f"{slice_id}.{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def publish(self, files: Sequence[Path]) -> None:
        """Upload finished shard files into ``shards/`` (the marker, written after, commits them)."""
        for f in files:
            self._call(f"{SHARDS_DIR}/{f.name}", self.fs.put_file, str(f), self._p(SHARDS_DIR, f.name))
