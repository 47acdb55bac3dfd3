"""``build_dataset``: inputs -> plan -> replay slices on an executor -> manifest and dataset.json.

Two phases run on the chosen executor: *planning* (clone, open, list commits, slice; cheap,
redone on every run so a resumed build sees the same plan) and *replaying* (one job per
slice; a slice with a completion marker is not replayed again). The tables are then
written from all slice outcomes in input order.

Between the two, inputs that share a root commit (forks, mirrors, a second URL of one
history) are reduced to the first in input order: the others are not replayed and become
``duplicate`` rows of errors.parquet. The choice uses only the plans and the input order,
so every executor and every resumed run makes the same one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from sessionforge.config import to_dict
from sessionforge.dataset import enclosing_dataset
from sessionforge.dataset.remote import is_url
from sessionforge.pipeline.build_progress import BuildProgress
from sessionforge.pipeline.config import BuildConfig, output_config
from sessionforge.pipeline.dedup import decide
from sessionforge.pipeline.executors import Executor, make_executor
from sessionforge.pipeline.inputs import RepoSpec, ResolvedInputs, resolve_inputs
from sessionforge.pipeline.jobs import Failure, PlanJob, RepoPlan, SliceJob, SliceResult
from sessionforge.pipeline.manifest import Collected, write_dataset_tables
from sessionforge.pipeline.plan import plan_repo, slice_jobs
from sessionforge.pipeline.replay_slice import replay_slice
from sessionforge.dataset.splits import assign_split
from sessionforge.pipeline.output import BuildOutput, open_output
from sessionforge.pipeline.state import BuildStateError, OutputDir


@dataclass
class BuildResult:
    """What a build produced: dataset.json's content, plus this run's speed."""

    doc: dict[str, Any]
    slices_run: int         # slices replayed by this invocation (0 when everything was already done)
    frames_this_run: int
    seconds: float
    errors: list[dict[str, Any]] = field(default_factory=list)   # errors.parquet's rows

    @property
    def frames_per_s(self) -> float | None:
        return self.frames_this_run / self.seconds if self.slices_run and self.seconds > 0 else None

    @property
    def failed(self) -> int:
        return int(self.doc["totals"]["repositories_failed"])


def duplicates(plans: dict[int, RepoPlan | Failure]) -> dict[int, int]:
    """Input order of each planned repository whose root commit an earlier one has -> that
    earlier one's input order (failed plans take part in nothing)."""
    first: dict[str, int] = {}
    out: dict[int, int] = {}
    for order in sorted(plans):
        plan = plans[order]
        if isinstance(plan, RepoPlan):
            out_of = first.setdefault(plan.root_commit, order)
            if out_of != order:
                out[order] = out_of
    return out


# Failures that say nothing about the repository (a dead worker, a store that dropped an
# upload): never remembered in a marker, so the next run tries those slices again.
TRANSIENT_STAGES = ("worker", "publish")


def choose_executor(cfg: BuildConfig, n_repos: int) -> str:
    """The executor to use: the configured one, else local for one repository, process otherwise."""
    if cfg.run.executor:
        return cfg.run.executor
    return "local" if n_repos <= 1 else "process"


def build_dataset(inputs: Sequence[str], out: str | Path, cfg: BuildConfig, *, overwrite: bool = False,
                  retry_failed: bool = False, progress: BuildProgress | None = None,
                  executor: Executor | None = None) -> BuildResult:
    """Build (or finish building) the dataset of ``inputs`` in ``out``; see the module docstring.

    ``retry_failed`` replays again the slices whose marker records a failure (by default a
    resumed build keeps earlier failures of a repository, since most are properties of the
    repository; worker crashes are never recorded, so they are always retried).
    """
    progress = progress or BuildProgress(enabled=False)
    parent = None if is_url(str(out)) else enclosing_dataset(out)
    if parent is not None:  # its readers would never see this dataset, and a rebuild there could delete it
        raise BuildStateError(f"--out {out}: is inside the dataset folder {parent}; "
                              "choose an --out outside any dataset")
    outdir = open_output(out)   # a folder (made absolute: jobs may run elsewhere) or a store URL
    skip = ([outdir.root] if isinstance(outdir, OutputDir) else []) + (
        [Path(cfg.run.cache_dir)] if cfg.run.cache_dir else [])
    resolved = resolve_inputs(inputs, cfg.filters, skip)
    outcfg = output_config(cfg)
    if not overwrite:
        outdir.check(outcfg)  # refuse a foreign folder or another config before creating anything
    with outdir.lock():
        outdir.prepare(outcfg, overwrite)
        outdir.reset_staging()  # leftovers of killed attempts; no slice runs now
        kind = choose_executor(cfg, len(resolved.repos))
        own = executor is None
        if executor is None:
            executor = make_executor(kind, cfg.run.workers, cfg.run.retries, cfg.run.ray_address)
        try:
            return _build(resolved, outdir, outcfg, cfg, kind, executor, retry_failed, progress)
        finally:
            if own:
                executor.close()


def _build(resolved: ResolvedInputs, outdir: BuildOutput, outcfg: dict[str, Any], cfg: BuildConfig, kind: str,
           executor: Executor, retry_failed: bool, progress: BuildProgress) -> BuildResult:
    cache_dir = str(Path(cfg.run.cache_dir).absolute()) if cfg.run.cache_dir else str(outdir.default_cache)

    collected = Collected()
    for err in resolved.errors:
        collected.add_error(err.identity, None, None, "input", err.message)

    # Phase 1: planning.
    plans: dict[int, RepoPlan | Failure] = {}
    plan_jobs = [PlanJob(identity=s.identity, path=s.path, url=s.url, cache_dir=cache_dir, replay=outcfg["replay"],
                         slice_commits=cfg.slice_commits, timeout=cfg.run.timeout, dedup=cfg.dedup_files)
                 for s in resolved.repos]
    progress.start("planning", len(plan_jobs))

    def on_planned(i: int, outcome: RepoPlan | Failure) -> None:
        plans[i] = outcome
        progress.job_done(resolved.repos[i].identity, outcome)

    executor.map(plan_repo, plan_jobs, on_planned, lambda n: None)

    # Phase 2: replay every slice that has no completion marker, of one input per history.
    dups = duplicates(plans)
    jobs: list[tuple[RepoSpec, SliceJob]] = []
    for order, spec in enumerate(resolved.repos):
        plan = plans[order]
        if isinstance(plan, Failure):
            collected.add_error(spec.identity, order, None, plan.stage, plan.message)
            continue
        if order in dups:
            collected.add_duplicate(spec.identity, order, resolved.repos[dups[order]].identity, plan.root_commit)
            continue
        jobs.extend((spec, j) for j in slice_jobs(order, spec, plan, outcfg, str(outdir.root), cfg.run.timeout,
                                                              cache_dir))
    if cfg.dedup_files != "off":
        jobs = _with_dedup(jobs, plans, cfg)
    outcomes: dict[str, SliceResult | Failure] = {}
    todo: list[SliceJob] = []
    for _, job in jobs:
        marker = outdir.read_marker(job.slice_id)
        if (marker is not None and marker[0] == job.plan_key()
                and (isinstance(marker[1], SliceResult) or not retry_failed)):
            outcomes[job.slice_id] = marker[1]
        else:
            todo.append(job)
    progress.start("replaying", len(todo), [j.identity for j in todo])
    t0 = time.perf_counter()

    def on_replayed(i: int, outcome: SliceResult | Failure) -> None:
        job = todo[i]
        # ok markers are written by the slice itself. A failure of the repository is kept for
        # resumes (unless --retry-failed); a crashed worker or an unexpected exception (stage
        # "worker": e.g. out of memory, a bug fixed since) is retried by the next run.
        if isinstance(outcome, Failure) and outcome.stage not in TRANSIENT_STAGES:
            outdir.write_failure_marker(job, outcome)
        outcomes[job.slice_id] = outcome
        progress.job_done(f"{job.identity} [slice {job.slice}]", outcome, job.identity)

    executor.map(replay_slice, todo, on_replayed, progress.add_frames)
    seconds = time.perf_counter() - t0
    progress.stop()
    frames_this_run = sum(o.frames for j in todo if isinstance(o := outcomes[j.slice_id], SliceResult))

    for spec, job in jobs:
        plan = plans[job.order]
        assert isinstance(plan, RepoPlan), "only planned repositories have slice jobs"
        meta = {"license": spec.license, "language": spec.language, "stars": spec.stars,
                "split": assign_split(plan.root_commit, cfg.split.val, cfg.split.test)}
        collected.add_slice(job, meta, outcomes[job.slice_id])
    _remove_orphans(outdir, {s.name for s in collected.shards})
    build_info = {"executor": kind, "run": to_dict(cfg.run), "slices_run": len(todo),
                  "slices_total": len(jobs), "seconds": round(seconds, 3),
                  "frames_per_s": round(frames_this_run / seconds, 1) if todo and seconds > 0 else None}
    doc = write_dataset_tables(outdir, collected, outcfg, [s.identity for s in resolved.repos], resolved.filtered,
                               build_info)
    # Every slice has ended: what is left in staging belongs to attempts that died (their shards were
    # never published), so a finished dataset carries no leftovers.
    outdir.reset_staging(recreate=False)
    return BuildResult(doc=doc, slices_run=len(todo), frames_this_run=frames_this_run, seconds=seconds,
                       errors=list(collected.errors))


def _with_dedup(jobs: list[tuple[RepoSpec, SliceJob]], plans: dict[int, RepoPlan | Failure],
                cfg: BuildConfig) -> list[tuple[RepoSpec, SliceJob]]:
    """The slice jobs with their dedup skip sets, decided over all plans in the build's order."""
    signatures: dict[str, tuple[int, ...]] = {}
    for plan in plans.values():
        if isinstance(plan, RepoPlan):
            signatures.update(plan.signatures)
    typed = []
    for _, job in jobs:
        plan = plans[job.order]
        assert isinstance(plan, RepoPlan)
        typed.append((job.slice_id, job.identity, plan.slices[job.slice].typed))
    skips = decide(typed, cfg.dedup_files, cfg.dedup_threshold, signatures)
    return [(spec, replace(job, skip_blobs=skips[job.slice_id])) for spec, job in jobs]


def _remove_orphans(outdir: BuildOutput, keep: set[str]) -> None:
    """Delete shards of slices no longer in this dataset (e.g. an input was removed, a slice that
    now failed once wrote them, or an upload whose slice never got its marker), so that shards/
    holds exactly what the manifest lists."""
    for name in sorted(outdir.shard_names() - keep):
        outdir.delete_shard(name)
