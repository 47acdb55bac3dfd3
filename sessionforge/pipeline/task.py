"""Worker side of a replay task: replay one slice into its own shards, publish, mark done.

A task writes its shards into ``OUT/.build/staging/<task>/``, moves them into
``OUT/shards/`` only once the whole slice is replayed, then writes its completion
marker; the dict it returns (also the marker's content) is small: one row per session,
never frames. Shard names derive from the repository identity, slice and part number,
so the same task always writes the same files with the same bytes.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sessionforge.pipeline.plan import repo_key
from sessionforge.files import sha256_file, write_json_atomic
from sessionforge.errors import SessionforgeError


class TaskTimeout(SessionforgeError):
    """A task ran past the per-repository time limit."""


class RotatingSink:
    """A replay sink that cuts shards by size at session boundaries.

    The size that decides a cut is the sum of the sessions' compressed sizes as the
    writer reports them at ``end_session``: a function of the data alone, whereas
    ``bytes_written`` could depend on when a background compressor got to run.
    """

    def __init__(self, staging: Path, prefix: str, rows: int, cols: int, codec: str,
                 shard_size: int, identity: str) -> None:
        self.staging, self.prefix = staging, prefix
        self.rows, self.cols, self.codec, self.shard_size = rows, cols, codec, shard_size
        self.identity = identity
        self.writer: Any = None
        self.part = -1
        self.size = 0
        self.files: list[Path] = []
        self.sessions: list[dict[str, Any]] = []
        self._t0 = 0.0

    def begin_session(self, meta: dict, palette: Sequence[int]) -> None:
        from sessionforge.formats import ShardWriter

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

    def end_session(self, extra_meta: dict | None = None) -> Any:
        info = self.writer.end_session(extra_meta)
        self.size += int(info.compressed_bytes)
        m = info.meta
        self.sessions.append({
            "shard": self.files[-1].name, "index": int(info.index),
            "first_commit": str(m.get("first_commit", "")), "last_commit": str(m.get("last_commit", "")),
            "commits": int(m.get("commits", 0)), "frames": int(info.frames),
            "actions": int(info.action_bytes), "bytes": int(info.compressed_bytes),
            "skipped": {str(k): int(v) for k, v in sorted(dict(m.get("skipped") or {}).items())},
            "lossless_failures": int(m.get("lossless_failures", 0) or 0),
            "seconds": round(time.perf_counter() - self._t0, 6),
        })
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


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TaskTimeout` in this thread after ``seconds`` (main thread only; else no-op).

    The process pool also kills a worker that overruns by more than a grace period,
    for code stuck where a signal cannot interrupt it.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise TaskTimeout(f"time limit of {seconds:g} s exceeded")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_replay_task(job: dict[str, Any], progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Replay one slice; returns ``{"status": "ok", "sessions": [...], "shards": [...], "stats"}``
    or ``{"status": "error", "stage", "message"}``. Never raises for a bad repository."""
    from sessionforge.pipeline.config import BuildConfig, parse_size
    from sessionforge.config import from_dict
    from sessionforge.replay import replay_repository

    out = Path(job["out"])
    # A fresh folder per attempt: an attempt that outlives its driver can never clobber another's files.
    staging = out / ".build" / "staging" / f"{job['task_id']}.{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    sink = None
    stage = "plan"
    try:
        with time_limit(job.get("timeout")):
            cfg = from_dict(BuildConfig, job["config"])
            # The planner's ids of this slice: walking the whole history again in every task would
            # cost K walks for K slices. Commit ids name their content, so replaying them gives the
            # planned data even if a branch moved since; a resumed build replans and compares.
            part = [str(c) for c in job["commits"]]
            if (len(part) != job["stop"] - job["start"] or not part or part[0] != job["first_commit"]
                    or part[-1] != job["last_commit"]):
                shutil.rmtree(staging, ignore_errors=True)
                return {"status": "error", "stage": "plan",
                        "message": "the task's commit list does not match its plan; run the build again"}
            stage = "replay"
            prefix = f"{repo_key(job['identity'])}-s{job['slice']:05d}"
            sink = RotatingSink(staging, prefix, cfg.replay.rows, cfg.replay.cols, cfg.codec,
                                parse_size(cfg.shard_size), job["identity"])
            stats = replay_repository(job["path"], cfg.replay, sink, commits=part, progress=progress)
            sink.close()
    except Exception as exc:  # one bad repository is an error row, never a crashed build
        if sink is not None:
            sink.close(exc)
        shutil.rmtree(staging, ignore_errors=True)
        return {"status": "error", "stage": stage, "message": f"{type(exc).__name__}: {exc}"}
    # Checksums here, on the worker, so the driver never rereads the whole dataset.
    shards = [{"name": f.name, "sha256": sha256_file(f), "bytes": f.stat().st_size} for f in sink.files]
    shards_dir = out / "shards"
    for f in sink.files:
        os.replace(f, shards_dir / f.name)
    shutil.rmtree(staging, ignore_errors=True)
    result = {"status": "ok", "plan": task_plan(job), "sessions": sink.sessions, "shards": shards,
              "stats": _small_stats(stats)}
    # The marker goes last: from here on a rerun trusts this task's shards.
    write_json_atomic(out / ".build" / "tasks" / f"{job['task_id']}.json", result)
    return result


def task_plan(job: dict[str, Any]) -> list[Any]:
    """What a task replays; a marker only counts for a task planned exactly the same way (a
    repository that gained commits since has a longer last slice, which must be redone)."""
    return [job["start"], job["stop"], job["first_commit"], job["last_commit"]]


def _small_stats(stats: Any) -> dict[str, Any]:
    """ReplayStats without the per-file failure list (kept short: it travels between processes)."""
    d = stats.to_dict() if hasattr(stats, "to_dict") else dict(vars(stats))
    failures = d.pop("lossless_failures", []) or []
    d["lossless_failures"] = len(failures)
    d["lossless_failure_examples"] = [list(map(str, f)) for f in failures[:5]]
    return d
