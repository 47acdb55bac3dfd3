"""Planning: open (or clone) each repository, list its commits, cut long histories into slices.

Everything here is a pure function of the inputs and the output config, so task ids,
slice boundaries and shard names are the same on every run, executor and worker count;
that is what makes the dataset byte-identical and a killed build resumable.

``plan_repo`` runs on a worker (cloning and walking history are the slow parts) and
returns a small :class:`~sessionforge.pipeline.jobs.RepoPlan`; :func:`slice_jobs` turns it
into one :class:`~sessionforge.pipeline.jobs.SliceJob` per slice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

import pygit2

from sessionforge.config import from_dict
from sessionforge.pipeline.clone import clone_cached
from sessionforge.pipeline.inputs import RepoSpec
from sessionforge.pipeline.dedup import minhash_signature
from sessionforge.pipeline.jobs import Failure, failure_from_exception, PlanJob, RepoPlan, SliceJob, SlicePlan
from sessionforge.pipeline.time_limit import time_limit
from sessionforge.replay import ReplayConfig, list_commits, root_commit
from sessionforge.replay.gitwalk import ChangeReader, typed_blobs


def repo_key(identity: str) -> str:
    """A file-name-safe, stable key for a repository: readable slug + hash of the identity."""
    tail = identity.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", tail)[:32].strip("._") or "repo"
    return f"{slug}-{hashlib.sha1(identity.encode()).hexdigest()[:12]}"


def slice_id(identity: str, slice_index: int) -> str:
    """The stable id of a repository's slice: it names the slice's shards and marker."""
    return f"{repo_key(identity)}-s{slice_index:05d}"


def slice_bounds(n_commits: int, slice_commits: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``slice_commits`` commits covering ``n_commits``."""
    return [(a, min(a + slice_commits, n_commits)) for a in range(0, n_commits, slice_commits)]


def plan_repo(job: PlanJob, progress: Any = None) -> RepoPlan | Failure:
    """Worker side of planning: clone if needed, open, list commits, slice.

    Never raises for a bad repository: any failure becomes a :class:`Failure` naming the stage.
    """
    stage = ["clone"]  # where we are, for the error row
    try:
        with time_limit(job.timeout):
            return _plan(job, stage)
    except Exception as exc:  # any failure of one repository is an error row, never a crash
        return failure_from_exception(stage[0], exc)


def _plan(job: PlanJob, stage: list[str]) -> RepoPlan | Failure:
    path = job.path
    if path is None:
        assert job.url is not None, "a PlanJob names a path or a URL"
        path = str(clone_cached(job.url, job.cache_dir))
    stage[0] = "open"
    try:
        pygit2.Repository(path)
    except (pygit2.GitError, KeyError) as exc:
        return Failure("open", f"not a git repository: {path} ({exc})")
    stage[0] = "plan"
    cfg = from_dict(ReplayConfig, job.replay)
    commits = [str(c) for c in list_commits(path, cfg)]
    if not commits:
        return Failure("plan", "no commits to replay (empty repository or empty commit range)")
    # Without a start commit the list begins at the root; else walk on to it.
    root = root_commit(path, commits[0]) if cfg.start_commit else commits[0]
    # The slice's ids travel with its job: one history walk per repository, not one per slice.
    bounds = slice_bounds(len(commits), job.slice_commits)
    if job.dedup == "off":
        slices = tuple(SlicePlan(a, b, tuple(commits[a:b])) for a, b in bounds)
        return RepoPlan(path=path, root_commit=root, commits=len(commits), slices=slices)
    # File dedup: what each slice would type, so the driver can decide in the build's order.
    stage[0] = "dedup"
    reader = ChangeReader(pygit2.Repository(path), cfg)
    signatures: dict[str, tuple[int, ...]] = {}
    planned = []
    for a, b in bounds:
        typed = []
        for c in commits[a:b]:
            for p, blob, text in typed_blobs(reader, c):
                typed.append((p, blob))
                if job.dedup == "near" and blob not in signatures:
                    signatures[blob] = minhash_signature(text)
        planned.append(SlicePlan(a, b, tuple(commits[a:b]), tuple(typed)))
    return RepoPlan(path=path, root_commit=root, commits=len(commits), slices=tuple(planned), signatures=signatures)


def slice_jobs(order: int, spec: RepoSpec, plan: RepoPlan, config: dict[str, Any], out: str,
               timeout: float | None, cache_dir: str) -> list[SliceJob]:
    """The replay jobs of one planned repository, in slice order."""
    return [SliceJob(slice_id=slice_id(spec.identity, k), order=order, identity=spec.identity, path=plan.path,
                     slice=k, plan=replace(sp, typed=()), config=config, out=out, timeout=timeout, url=spec.url,
                     cache_dir=cache_dir)
            for k, sp in enumerate(plan.slices)]
