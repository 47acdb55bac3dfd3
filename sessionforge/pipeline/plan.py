"""Planning: open (or clone) each repository, list its commits, cut long histories into slices.

Everything here is a pure function of the inputs and the output config, so task ids,
slice boundaries and shard names are the same on every run, executor and worker count;
that is what makes the dataset byte-identical and a killed build resumable.

``prepare_repo`` runs on a worker (cloning and walking history are the slow parts) and
returns a small JSON-able dict; :func:`make_tasks` turns those into replay tasks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sessionforge.pipeline.inputs import RepoSpec


@dataclass(frozen=True)
class ReplayTask:
    """One unit of work: replay commits ``[start, stop)`` of one repository's commit list."""

    task_id: str
    order: int          # the repository's position in the inputs (dataset order)
    identity: str
    path: str           # local repository (a clone for URL inputs)
    slice: int
    start: int
    stop: int
    first_commit: str   # commits[start] and commits[stop - 1] at planning time (the resume check)
    last_commit: str
    commits: tuple[str, ...] = ()  # commits[start:stop]: the task replays these, never walks history again


def repo_key(identity: str) -> str:
    """A file-name-safe, stable key for a repository: readable slug + hash of the identity."""
    tail = identity.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", tail)[:32].strip("._") or "repo"
    return f"{slug}-{hashlib.sha1(identity.encode()).hexdigest()[:12]}"


def prepare_task_id(identity: str) -> str:
    return f"prep-{repo_key(identity)}"


def replay_task_id(identity: str, slice_index: int) -> str:
    return f"{repo_key(identity)}-s{slice_index:05d}"


def slice_bounds(n_commits: int, slice_commits: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``slice_commits`` commits covering ``n_commits``."""
    return [(a, min(a + slice_commits, n_commits)) for a in range(0, n_commits, slice_commits)]


def prepare_repo(job: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """Worker side of planning: clone if needed, open, list commits, slice.

    ``job`` holds ``identity``, ``path`` or ``url``, ``cache_dir``, ``replay`` (a
    ReplayConfig dict) and ``slice_commits``. Returns ``{"status": "ok", "path",
    "commits", "slices": [[start, stop, first, last, [commit ids of the slice]], ...]}`` or an
    error dict with ``stage`` and ``message``; never raises for a bad repository.
    """
    from sessionforge.pipeline.task import time_limit

    stage = ["clone"]  # where we are, for the error row
    try:
        with time_limit(job.get("timeout")):
            return _prepare(job, stage)
    except Exception as exc:  # any failure of one repository is an error row, never a crash
        return _error(stage[0], f"{type(exc).__name__}: {exc}")


def _prepare(job: dict[str, Any], stage: list[str]) -> dict[str, Any]:
    import pygit2

    from sessionforge.pipeline.clone import clone_cached
    from sessionforge.config import from_dict
    from sessionforge.replay import ReplayConfig, list_commits

    path = job.get("path")
    if path is None:
        path = str(clone_cached(job["url"], job["cache_dir"]))
    stage[0] = "open"
    try:
        pygit2.Repository(path)
    except (pygit2.GitError, KeyError) as exc:
        return _error("open", f"not a git repository: {path} ({exc})")
    stage[0] = "plan"
    cfg = from_dict(ReplayConfig, job["replay"])
    commits = list_commits(path, cfg)
    if not commits:
        return _error("plan", "no commits to replay (empty repository or empty commit range)")
    commits = [str(c) for c in commits]
    # The slice's ids travel with its task: one history walk per repository, not one per slice.
    slices = [[a, b, commits[a], commits[b - 1], commits[a:b]]
              for a, b in slice_bounds(len(commits), job["slice_commits"])]
    return {"status": "ok", "path": path, "commits": len(commits), "slices": slices}


def make_tasks(order: int, spec: RepoSpec, prepared: dict[str, Any]) -> list[ReplayTask]:
    """The replay tasks of one prepared repository, in slice order."""
    return [ReplayTask(task_id=replay_task_id(spec.identity, k), order=order, identity=spec.identity,
                       path=prepared["path"], slice=k, start=a, stop=b, first_commit=first, last_commit=last,
                       commits=tuple(ids))
            for k, (a, b, first, last, ids) in enumerate(prepared["slices"])]


def _error(stage: str, message: str) -> dict[str, Any]:
    return {"status": "error", "stage": stage, "message": message}
