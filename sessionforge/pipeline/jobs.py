"""What the build's driver sends to workers and what comes back: small, typed, picklable records.

Two kinds of job run on an executor:

- :class:`PlanJob` -> :class:`RepoPlan`: clone or open one repository, list its commits, cut
  them into slices;
- :class:`SliceJob` -> :class:`SliceResult`: replay one slice into its own shards.

Either can end in a :class:`Failure` instead (a bad repository, a time limit, a dead worker):
an error row in the dataset, never a stopped build. Every record is a frozen dataclass of
plain values, so the process pool and Ray move it as cheaply as the dicts they replaced, and
a slice's result is also its completion marker on disk (:meth:`SliceResult.to_json`).
"""

from __future__ import annotations

import hashlib
import re
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Job(Protocol):
    """What every executor needs to know of a job: its time limit in seconds (None: none)."""

    @property
    def timeout(self) -> float | None: ...


@dataclass(frozen=True)
class Failure:
    """A job that did not produce its result: ``stage`` says where (clone, open, plan, replay,
    timeout, worker, input), ``message`` why, with the cause's type and, where known, its place."""

    stage: str
    message: str
    detail: str = ""   # a remote traceback, shown with SESSIONFORGE_DEBUG=1; never in the tables

    def to_json(self) -> dict[str, Any]:
        return {"status": "error", "stage": self.stage, "message": self.message}


def failure_from_exception(stage: str, exc: BaseException) -> Failure:
    """A failure that keeps the exception's type, message and innermost ``file:line``, with the
    whole traceback as its detail."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return Failure(stage, f"{type(exc).__name__}: {exc}{where}", "".join(traceback.format_exception(exc)))


_TB_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours its worker names


def remote_failure(stage: str, exc: BaseException) -> Failure:
    """A failure from an exception that crossed a process boundary (Ray's ``RayTaskError``
    wraps the worker's exception as ``cause``, with the remote traceback as text): the
    *remote* exception's type and message and its innermost ``file:line``, not the wrapper's
    one-line summary."""
    cause = getattr(exc, "cause", None)
    # RayTaskError's own text holds the remote traceback (``traceback_str`` where Ray sets it).
    remote_tb = _ANSI.sub("", str(getattr(exc, "traceback_str", "") or "") or str(exc))
    if not isinstance(cause, BaseException):
        cause = exc
    message = str(cause).strip()
    if cause is exc or "\n" in message:
        # Ray's own exceptions repeat the traceback in their text: keep the last line that says something.
        lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
        message = lines[-1] if lines else ""
    places = _TB_FRAME.findall(remote_tb)
    where = f" (at {Path(places[-1][0]).name}:{places[-1][1]})" if places else ""
    detail = remote_tb if places else "".join(traceback.format_exception(exc))
    return Failure(stage, f"{type(cause).__name__}: {message}{where}", detail)


@dataclass(frozen=True)
class PlanJob:
    """Plan one repository: ``path`` for a local repository, else ``url`` cloned into ``cache_dir``."""

    identity: str
    path: str | None
    url: str | None
    cache_dir: str
    replay: dict[str, Any]   # the ReplayConfig as a dict (it picks the branch, range and limits)
    slice_commits: int
    timeout: float | None = None
    dedup: str = "off"       # "exact"/"near": also list what each slice types (pipeline/dedup.py)


@dataclass(frozen=True)
class SlicePlan:
    """Commits ``[start, stop)`` of a repository's commit list, and their ids."""

    start: int
    stop: int
    commits: tuple[str, ...]
    typed: tuple[tuple[str, str], ...] = ()   # (path, blob id) replay would type, in order (dedup only)

    @property
    def first_commit(self) -> str:
        return self.commits[0]

    @property
    def last_commit(self) -> str:
        return self.commits[-1]


@dataclass(frozen=True)
class RepoPlan:
    """A planned repository: the local path replay reads, its root commit (what the history is
    known by: the split and fork dedup use it) and its slices in order."""

    path: str
    root_commit: str
    commits: int
    slices: tuple[SlicePlan, ...]
    signatures: dict[str, tuple[int, ...]] = field(default_factory=dict)  # blob id -> MinHash (near dedup)


@dataclass(frozen=True)
class SliceJob:
    """Replay one slice of one repository into shards under ``out``."""

    slice_id: str            # stable: names the shards and the completion marker
    order: int               # the repository's position in the inputs (dataset order)
    identity: str            # the repository as the user named it (URL or path)
    path: str                # local repository (a clone for URL inputs)
    slice: int
    plan: SlicePlan
    config: dict[str, Any]   # the output config (BuildConfig without `run`)
    out: str                 # a local folder or an object-store URL (see pipeline/output.py)
    timeout: float | None = None
    url: str | None = None   # for URL inputs: where to clone from on a node without ``path``
    cache_dir: str = ""      # where such a node keeps its clones
    skip_blobs: frozenset[str] = frozenset()   # "path\0blob" typed by another file earlier (dedup.skip_key)

    def plan_key(self) -> list[Any]:
        """What a completion marker must match to count for this job: a repository that gained
        commits since has a longer last slice, which must be redone; a slice whose dedup skip
        set changed (inputs were added before it) too."""
        key: list[Any] = [self.plan.start, self.plan.stop, self.plan.first_commit, self.plan.last_commit]
        if self.skip_blobs:
            key.append(hashlib.sha256("\n".join(sorted(self.skip_blobs)).encode()).hexdigest()[:16])
        return key


@dataclass(frozen=True)
class SessionRecord:
    """One session a slice wrote: where it is and the numbers its manifest row needs."""

    shard: str
    index: int
    first_commit: str
    last_commit: str
    commits: int
    frames: int
    actions: int
    bytes: int
    skipped: dict[str, int]
    lossless_failures: int
    seconds: float
    frames_by_ext: dict[str, int] = field(default_factory=dict)  # frames by file extension (replay markers)


@dataclass(frozen=True)
class ShardRecord:
    """One published shard file and its checksum (computed on the worker)."""

    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class SliceResult:
    """A replayed slice: its sessions, its shards, the replay counters and the skipped changes.

    ``skipped`` lists ``(commit, path, reason, bytes)`` per skipped change, in replay order,
    at most ``replay_slice.MAX_SKIPPED_PER_SLICE`` of them (this record is also the slice's
    completion marker and crosses process boundaries: it must stay small); ``skipped_unlisted``
    counts the rest. The per-reason counts in the sessions are always exact.
    """

    plan: list[Any]
    sessions: tuple[SessionRecord, ...]
    shards: tuple[ShardRecord, ...]
    stats: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[tuple[str, str, str, int], ...] = ()
    skipped_unlisted: int = 0

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.sessions)

    def to_json(self) -> dict[str, Any]:
        """The completion marker's content."""
        return {"status": "ok", "plan": list(self.plan), "sessions": [asdict(s) for s in self.sessions],
                "shards": [asdict(s) for s in self.shards], "stats": self.stats,
                "skipped": [list(k) for k in self.skipped], "skipped_unlisted": self.skipped_unlisted}


def slice_outcome_from_json(doc: dict[str, Any]) -> tuple[list[Any] | None, SliceResult | Failure]:
    """A completion marker read back: ``(its plan key, the result or failure it recorded)``.

    Raises KeyError/TypeError/ValueError for a marker of another shape (the caller treats such
    a marker as missing, so the slice is replayed again).
    """
    plan = doc.get("plan")
    if doc.get("status") != "ok":
        return plan, Failure(str(doc["stage"]), str(doc["message"]))
    return plan, SliceResult(
        plan=list(doc["plan"]),
        sessions=tuple(SessionRecord(**s) for s in doc["sessions"]),
        shards=tuple(ShardRecord(**s) for s in doc["shards"]),
        stats=dict(doc.get("stats") or {}),
        skipped=tuple((str(c), str(p), str(r), int(b)) for c, p, r, b in doc.get("skipped") or []),
        skipped_unlisted=int(doc.get("skipped_unlisted") or 0),
    )
