"""``build_dataset``: inputs -> plan -> replay tasks on an executor -> manifest and dataset.json.

Two phases run on the chosen executor: *planning* (clone, open, list commits, slice; cheap,
redone on every run so a resumed build sees the same plan) and *replaying* (one task per
slice; a task with a completion marker is not run again). The tables are then written
from all task results in input order.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sessionforge.pipeline.config import BuildConfig, output_config
from sessionforge.dataset import enclosing_dataset
from sessionforge.pipeline.executors import Executor, make_executor
from sessionforge.pipeline.inputs import RepoSpec, ResolvedInputs, resolve_inputs
from sessionforge.pipeline.manifest import Collected, write_outputs
from sessionforge.pipeline.plan import ReplayTask, make_tasks, prepare_repo, repo_key
from sessionforge.pipeline.progress import BuildProgress
from sessionforge.pipeline.state import BuildStateError, OutputDir
from sessionforge.pipeline.task import run_replay_task
from sessionforge.config import to_dict


@dataclass
class BuildResult:
    """What a build produced: dataset.json's content, plus this run's speed."""

    doc: dict[str, Any]
    tasks_run: int          # replay tasks run by this invocation (0 when everything was already done)
    frames_this_run: int
    seconds: float

    @property
    def frames_per_s(self) -> float | None:
        return self.frames_this_run / self.seconds if self.tasks_run and self.seconds > 0 else None

    @property
    def failed(self) -> int:
        return int(self.doc["totals"]["repositories_failed"])


def choose_executor(cfg: BuildConfig, n_repos: int) -> str:
    """The executor to use: the configured one, else local for one repository, process otherwise."""
    if cfg.run.executor:
        return cfg.run.executor
    return "local" if n_repos <= 1 else "process"


def build_dataset(inputs: Sequence[str], out: str | Path, cfg: BuildConfig, *, overwrite: bool = False,
                  retry_failed: bool = False, progress: BuildProgress | None = None,
                  executor: Executor | None = None) -> BuildResult:
    """Build (or finish building) the dataset of ``inputs`` in ``out``; see the module docstring.

    ``retry_failed`` reruns tasks whose marker records a failure (by default a resumed build
    keeps earlier failures of a repository, since most are properties of the repository;
    worker crashes are never recorded, so they are always retried).
    """
    progress = progress or BuildProgress(enabled=False)
    parent = enclosing_dataset(out)
    if parent is not None:  # its readers would never see this dataset, and a rebuild there could delete it
        raise BuildStateError(f"--out {out}: is inside the dataset folder {parent}; "
                              "choose an --out outside any dataset")
    skip = [Path(out)] + ([Path(cfg.run.cache_dir)] if cfg.run.cache_dir else [])
    resolved = resolve_inputs(inputs, cfg.filters, skip)
    outdir = OutputDir(out)
    outcfg = output_config(cfg)
    if not overwrite:
        outdir.check(outcfg)  # refuse a foreign folder or another config before creating anything
    with outdir.lock():
        outdir.prepare(outcfg, overwrite)
        shutil.rmtree(outdir.staging, ignore_errors=True)  # leftovers of killed attempts; no task runs now
        outdir.staging.mkdir(parents=True, exist_ok=True)
        kind = choose_executor(cfg, len(resolved.repos))
        own = executor is None
        if executor is None:
            executor = make_executor(kind, cfg.run.workers, cfg.run.retries, cfg.run.ray_address)
        try:
            return _build(resolved, outdir, outcfg, cfg, kind, executor, retry_failed, progress)
        finally:
            if own:
                executor.close()


def _build(resolved: ResolvedInputs, outdir: OutputDir, outcfg: dict[str, Any], cfg: BuildConfig, kind: str,
           executor: Executor, retry_failed: bool, progress: BuildProgress) -> BuildResult:
    cache_dir = cfg.run.cache_dir or str(outdir.default_cache)

    collected = Collected()
    for err in resolved.errors:
        collected.add_error(err.identity, None, None, "input", err.message)

    # Phase 1: planning.
    prepared: dict[int, dict[str, Any]] = {}
    jobs = [{"identity": s.identity, "path": s.path, "url": s.url, "cache_dir": cache_dir,
             "replay": outcfg["replay"], "slice_commits": cfg.slice_commits, "timeout": cfg.run.timeout}
            for s in resolved.repos]
    progress.start("planning", len(jobs))

    def on_prepared(i: int, res: dict[str, Any]) -> None:
        prepared[i] = res
        progress.task_done(resolved.repos[i].identity, res)

    executor.map(prepare_repo, jobs, on_prepared, lambda n: None)

    # Phase 2: replay every slice that has no completion marker.
    tasks: list[tuple[RepoSpec, ReplayTask]] = []
    for order, spec in enumerate(resolved.repos):
        res = prepared[order]
        if res.get("status") != "ok":
            collected.add_error(spec.identity, order, None, res.get("stage", "?"), res.get("message", ""))
            continue
        tasks.extend((spec, t) for t in make_tasks(order, spec, res))
    results: dict[str, dict[str, Any]] = {}
    todo: list[tuple[RepoSpec, ReplayTask]] = []
    for spec, t in tasks:
        marker = outdir.read_marker(t.task_id)
        planned = [t.start, t.stop, t.first_commit, t.last_commit]
        if (marker is not None and marker.get("plan") == planned
                and (marker.get("status") == "ok" or not retry_failed)):
            results[t.task_id] = marker
        else:
            todo.append((spec, t))
    replay_jobs = [{"task_id": t.task_id, "identity": t.identity, "path": t.path, "slice": t.slice,
                    "start": t.start, "stop": t.stop, "first_commit": t.first_commit,
                    "last_commit": t.last_commit, "commits": list(t.commits), "config": outcfg,
                    "out": str(outdir.root),
                    "timeout": cfg.run.timeout} for _, t in todo]
    progress.start("replaying", len(replay_jobs), [t.identity for _, t in todo])
    t0 = time.perf_counter()

    def on_replayed(i: int, res: dict[str, Any]) -> None:
        t = todo[i][1]
        # ok markers are written by the task itself. A failure of the repository is kept for
        # resumes (unless --retry-failed); a crashed worker or an unexpected exception (stage
        # "worker": e.g. out of memory, a bug fixed since) is retried by the next run.
        if res.get("status") != "ok" and res.get("stage") != "worker":
            outdir.write_marker(t.task_id, {**res, "plan": [t.start, t.stop, t.first_commit, t.last_commit]})
        results[t.task_id] = res
        progress.task_done(f"{t.identity} [slice {t.slice}]", res, t.identity)

    executor.map(run_replay_task, replay_jobs, on_replayed, progress.add_frames)
    seconds = time.perf_counter() - t0
    progress.stop()
    frames_this_run = sum(s["frames"] for _, t in todo if results[t.task_id].get("status") == "ok"
                          for s in results[t.task_id]["sessions"])

    for spec, t in tasks:
        meta = {"license": spec.license, "language": spec.language, "stars": spec.stars}
        collected.add_task(f"{repo_key(t.identity)}-s{t.slice:05d}", t.order, t.identity, t.slice, meta,
                           results[t.task_id])
    _remove_orphans(outdir, {s["name"] for s in collected.shards})
    build_info = {"executor": kind, "run": to_dict(cfg.run), "tasks_run": len(todo),
                  "tasks_total": len(tasks), "seconds": round(seconds, 3),
                  "frames_per_s": round(frames_this_run / seconds, 1) if todo and seconds > 0 else None}
    doc = write_outputs(outdir, collected, outcfg, [s.identity for s in resolved.repos], resolved.filtered,
                        build_info)
    # Every task has ended: what is left in staging belongs to attempts that died (their shards were
    # never published), so a finished dataset carries no leftovers.
    shutil.rmtree(outdir.staging, ignore_errors=True)
    return BuildResult(doc=doc, tasks_run=len(todo), frames_this_run=frames_this_run, seconds=seconds)


def _remove_orphans(outdir: OutputDir, keep: set[str]) -> None:
    """Delete shards of tasks no longer in this dataset (e.g. an input was removed, or a task
    that now failed once wrote them), so that shards/ holds exactly what the manifest lists."""
    for p in outdir.shards.glob("*.tss"):
        if p.name not in keep:
            p.unlink()
