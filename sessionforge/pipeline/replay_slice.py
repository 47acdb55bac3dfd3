"""Worker side of a slice: replay one slice into its own shards, publish them, mark it done.

A slice job writes its shards into ``OUT/.build/staging/<slice>.<attempt>/``, moves them into
``OUT/shards/`` only once the whole slice is replayed, then writes its completion marker;
the :class:`~sessionforge.pipeline.jobs.SliceResult` it returns (also the marker's content)
is small: one record per session, never frames, and the slice's skipped changes (at most
:data:`MAX_SKIPPED_PER_SLICE` listed; the rest counted). Shard names derive from the repository
identity, slice and part number, so the same slice always writes the same files with the
same bytes.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from sessionforge.config import from_dict
from sessionforge.files import sha256_file
from sessionforge.formats import SessionInfo, ShardWriter
from sessionforge.pipeline.config import BuildConfig, parse_size
from sessionforge.pipeline.clone import clone_cached
from sessionforge.pipeline.jobs import (
    Failure, SessionRecord, ShardRecord, SliceJob, SliceResult, failure_from_exception,
)
from sessionforge.pipeline.output import open_output
from sessionforge.pipeline.time_limit import time_limit
from sessionforge.replay import replay_repository

# Skipped changes a slice lists for skipped.parquet: one vendored folder committed once can
# skip tens of thousands of files, and the list travels in the completion marker.
MAX_SKIPPED_PER_SLICE = 10_000


class RotatingSink:
    """A :class:`~sessionforge.replay.FrameSink` that cuts shards by size at session boundaries.

    The size that decides a cut is the sum of the sessions' compressed sizes as the
    writer reports them at ``end_session``: a function of the data alone, whereas
    ``bytes_written`` could depend on when a background compressor got to run.
    """

    def __init__(self, staging: Path, prefix: str, rows: int, cols: int, codec: str,
                 shard_size: int, identity: str) -> None:
        self.staging, self.prefix = staging, prefix
        self.rows, self.cols, self.codec, self.shard_size = rows, cols, codec, shard_size
        self.identity = identity
        self.writer: ShardWriter | None = None
        self.part = -1
        self.size = 0
        self.files: list[Path] = []
        self.sessions: list[SessionRecord] = []
        self._t0 = 0.0

    def begin_session(self, meta: dict, palette: Sequence[int]) -> None:
        if self.writer is not None and self.size >= self.shard_size:
            self._close_writer()
        if self.writer is None:
            self.part += 1
            path = self.staging / f"{self.prefix}-p{self.part:03d}.tss"
            self.writer = ShardWriter(path, rows=self.rows, cols=self.cols, codec=self.codec)
            self.files.append(path)
            self.size = 0
            self.add_frame = self.writer.add_frame  # type: ignore[method-assign]  # no per-frame indirection
        meta = dict(meta)
        meta["repo"] = self.identity  # the URL for cloned inputs, not the cache folder
        self.writer.begin_session(meta, palette)
        self._t0 = time.perf_counter()

    def add_frame(self, *args: Any, **kwargs: Any) -> None:  # replaced by the writer's own method
        raise RuntimeError("add_frame before begin_session")

    def end_session(self, extra_meta: dict | None = None) -> SessionInfo:
        assert self.writer is not None, "end_session without begin_session"
        info = self.writer.end_session(extra_meta)
        self.size += int(info.compressed_bytes)
        m = info.meta
        self.sessions.append(SessionRecord(
            shard=self.files[-1].name, index=int(info.index),
            first_commit=str(m.get("first_commit", "")), last_commit=str(m.get("last_commit", "")),
            commits=int(m.get("commits", 0)), frames=int(info.frames),
            actions=int(info.action_bytes), bytes=int(info.compressed_bytes),
            skipped={str(k): int(v) for k, v in sorted(dict(m.get("skipped") or {}).items())},
            lossless_failures=int(m.get("lossless_failures", 0) or 0),
            seconds=round(time.perf_counter() - self._t0, 6),
            frames_by_ext={str(k): int(v) for k, v in sorted(dict(m.get("frames_by_ext") or {}).items())},
        ))
        return info

    @property
    def bytes_written(self) -> int:
        return 0 if self.writer is None else int(self.writer.bytes_written)

    def _close_writer(self, exc: BaseException | None = None) -> None:
        w, self.writer = self.writer, None
        if exc is None:
            w.close()
        else:  # discard the temporary file: no partial shard
            w.abort()

    def close(self, exc: BaseException | None = None) -> None:
        """Finish the open shard (or discard it when ``exc`` is given)."""
        if self.writer is not None:
            self._close_writer(exc)


def replay_slice(job: SliceJob, progress: Callable[[int], None] | None = None) -> SliceResult | Failure:
    """Replay one slice (see the module docstring). Never raises for a bad repository: a
    failure is returned, naming the stage (plan or replay) and the cause."""
    outdir = open_output(job.out)
    staging = outdir.staging_dir(job.slice_id)
    sink = None
    stage = "plan"
    try:
        with time_limit(job.timeout):
            path = job.path
            if job.url and not Path(path).exists():
                # This node did not plan the repository (no shared filesystem): clone it here.
                stage = "clone"
                path = str(clone_cached(job.url, job.cache_dir))
            cfg = from_dict(BuildConfig, job.config)
            # The planner's ids of this slice: walking the whole history again in every slice would
            # cost K walks for K slices. Commit ids name their content, so replaying them gives the
            # planned data even if a branch moved since; a resumed build replans and compares.
            if not job.plan.commits or len(job.plan.commits) != job.plan.stop - job.plan.start:
                shutil.rmtree(staging, ignore_errors=True)
                return Failure("plan", "the slice's commit list does not match its plan; run the build again")
            stage = "replay"
            sink = RotatingSink(staging, job.slice_id, cfg.replay.rows, cfg.replay.cols, cfg.codec,
                                parse_size(cfg.shard_size), job.identity)
            stats = replay_repository(path, cfg.replay, sink, commits=list(job.plan.commits),
                                      progress=progress, skip_list_limit=MAX_SKIPPED_PER_SLICE,
                                      skip_blobs=job.skip_blobs)
            sink.close()
    except Exception as exc:  # one bad repository is an error row, never a crashed build
        if sink is not None:
            sink.close(exc)
        shutil.rmtree(staging, ignore_errors=True)
        return failure_from_exception(stage, exc)
    # Checksums here, on the worker, so the driver never rereads the whole dataset.
    shards = tuple(ShardRecord(f.name, sha256_file(f), f.stat().st_size) for f in sink.files)
    try:
        outdir.publish(sink.files)
    except Exception as exc:  # a store that refuses the upload: an error row; the marker is not written
        shutil.rmtree(staging, ignore_errors=True)
        return failure_from_exception("publish", exc)
    shutil.rmtree(staging, ignore_errors=True)
    result = SliceResult(plan=job.plan_key(), sessions=tuple(sink.sessions), shards=shards,
                         stats=_small_stats(stats), skipped=tuple(tuple(k) for k in stats.skipped_files),
                         skipped_unlisted=int(stats.skipped_files_unlisted))
    # The marker goes last: from here on a rerun trusts this slice's shards.
    outdir.write_marker(job.slice_id, result.to_json())
    return result


def _small_stats(stats: Any) -> dict[str, Any]:
    """ReplayStats without the per-file lists (kept short: it travels between processes; the
    skipped files travel as SliceResult.skipped)."""
    d = stats.to_dict() if hasattr(stats, "to_dict") else dict(vars(stats))
    d.pop("skipped_files", None)
    failures = d.pop("lossless_failures", []) or []
    d["lossless_failures"] = len(failures)
    d["lossless_failure_examples"] = [list(map(str, f)) for f in failures[:5]]
    return d
