"""Executors with a fake job: every job reported once, worker death retried, stuck workers killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from dataclasses import dataclass

import pytest

from sessionforge.pipeline.executors import LocalExecutor, ProcessExecutor, RayExecutor
from sessionforge.pipeline.jobs import Failure
from sessionforge.pipeline.time_limit import TimeLimitExceeded, time_limit


@dataclass(frozen=True)
class FakeJob:
    x: int
    dir: str
    die: int = 0        # die (like an OOM kill) on this many first attempts
    ticks: int = 0      # report one frame per 0.1 s this many times
    sleep: float = 0.0
    fail: bool = False  # raise instead of returning (an exception the job function does not catch)
    timeout: float | None = None


def square(job: FakeJob, progress=None) -> dict:
    """Fake job function: reports progress, and dies on the first ``job.die`` attempts."""
    if progress:
        progress(job.x)
    flag = Path(job.dir) / f"attempt-{job.x}"
    attempts = int(flag.read_text()) if flag.exists() else 0
    flag.write_text(str(attempts + 1))
    if attempts < job.die:
        os._exit(9)
    for _ in range(job.ticks):  # a long job that reports frames as it goes
        time.sleep(0.1)
        if progress:
            progress(1)
    if job.sleep:
        time.sleep(job.sleep)
    if job.fail:
        raise ValueError(f"boom {job.x}")
    return {"y": job.x ** 2, "pid": os.getpid()}


def _run(ex, jobs):
    results, frames = {}, []
    ex.map(square, jobs, lambda i, r: results.__setitem__(i, r), frames.append)
    ex.close()
    return results, sum(frames)


def test_local_and_process_pool_return_every_result_once(tmp_path):
    jobs = [FakeJob(x, str(tmp_path)) for x in range(6)]
    local, f1 = _run(LocalExecutor(), jobs)
    for p in tmp_path.iterdir():
        p.unlink()
    pool, f2 = _run(ProcessExecutor(workers=2), jobs)
    assert {i: r["y"] for i, r in local.items()} == {i: r["y"] for i, r in pool.items()} == {x: x * x for x in range(6)}
    assert f1 == f2 == sum(range(6))                       # progress reaches the driver from workers
    assert len({r["pid"] for r in pool.values()}) == 2     # really two processes
    assert os.getpid() not in {r["pid"] for r in pool.values()}


def test_dead_worker_costs_only_its_job_a_retry(tmp_path):
    jobs = [FakeJob(x, str(tmp_path), die=1 if x == 2 else 0) for x in range(4)]
    jobs.append(FakeJob(9, str(tmp_path), die=5))  # dies every time: error after retries
    results, _ = _run(ProcessExecutor(workers=2, retries=2), jobs)
    assert [results[i]["y"] for i in range(4)] == [0, 1, 4, 9]
    assert (tmp_path / "attempt-2").read_text() == "2"     # died once, retried once
    assert (tmp_path / "attempt-0").read_text() == "1"     # neighbours were not rerun
    assert isinstance(results[4], Failure) and results[4].stage == "worker"
    assert "3 attempts" in results[4].message and (tmp_path / "attempt-9").read_text() == "3"


def test_soft_time_limit_raises_in_the_task():
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.2):
            time.sleep(2)
    with time_limit(1.0):       # no alarm left behind
        pass
    time.sleep(0.01)


def test_stuck_worker_is_killed_at_the_time_limit_and_the_pool_goes_on(tmp_path, monkeypatch):
    import sessionforge.pipeline.executors as ex_mod

    monkeypatch.setattr(ex_mod, "KILL_GRACE_S", 0.2)   # the fake task ignores the soft limit
    jobs = [FakeJob(1, str(tmp_path), sleep=60, timeout=0.3), FakeJob(2, str(tmp_path)), FakeJob(3, str(tmp_path))]
    t0 = time.monotonic()
    results, _ = _run(ProcessExecutor(workers=1), jobs)
    assert time.monotonic() - t0 < 30
    assert isinstance(results[0], Failure) and results[0].stage == "timeout"
    assert [results[1]["y"], results[2]["y"]] == [4, 9]


def test_replay_task_time_limit_becomes_an_error_row(repos, tmp_path):
    from buildkit import small_config
    from sessionforge.pipeline.runner import build_dataset

    cfg = small_config("local")
    cfg.run.timeout = 1e-4
    res = build_dataset(repos[:1], tmp_path / "data", cfg)
    assert res.doc["totals"]["repositories_failed"] == 1
    import polars as pl
    err = pl.read_parquet(tmp_path / "data" / "errors.parquet")
    assert "time limit" in err["message"][0] and not list((tmp_path / "data" / "shards").iterdir())


def test_pool_replaces_a_worker_that_died_while_idle(tmp_path):
    import signal

    ex = ProcessExecutor(workers=1)
    res: dict = {}
    try:
        ex.map(square, [FakeJob(1, str(tmp_path))], res.__setitem__, lambda n: None)
        first = res[0]["pid"]
        os.kill(first, signal.SIGKILL)
        time.sleep(0.2)
        ex.map(square, [FakeJob(2, str(tmp_path))], res.__setitem__, lambda n: None)
    finally:
        ex.close()
    assert res[0]["y"] == 4 and res[0]["pid"] != first


def test_ray_streams_progress_and_kills_a_task_stuck_past_its_time_limit(tmp_path, monkeypatch):
    import sys

    import ray

    import sessionforge.pipeline.executors as ex_mod

    # Ray workers do not have tests/ on their path: ship this module's fake task by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(ex_mod, "KILL_GRACE_S", 0.2)  # the sleeping job ignores the soft limit
    jobs = [FakeJob(1, str(tmp_path), sleep=60, timeout=0.3),
            FakeJob(2, str(tmp_path), ticks=20),  # ~2 s, one frame per 0.1 s
            FakeJob(3, str(tmp_path)),
            FakeJob(4, str(tmp_path), fail=True)]
    events: list[tuple] = []
    ex = RayExecutor(None, workers=2)
    t0 = time.monotonic()
    try:
        ex.map(square, jobs, lambda i, r: events.append(("result", i, r)), lambda n: events.append(("frames", n)))
    finally:
        ex.close()
    assert time.monotonic() - t0 < 60  # not the stuck job's 60 s
    results = {e[1]: e[2] for e in events if e[0] == "result"}
    assert sorted(results) == [0, 1, 2, 3]
    assert isinstance(results[0], Failure) and results[0].stage == "timeout"
    assert [results[1]["y"], results[2]["y"]] == [4, 9]
    # A remote exception keeps its own type, message and place, not Ray's wrapper line.
    failed = results[3]
    assert isinstance(failed, Failure) and failed.stage == "worker"
    assert failed.message.startswith("ValueError: boom 4 (at test_build_executors.py:"), failed.message
    assert "RayTaskError" not in failed.message
    assert "in square" in failed.detail and "\x1b" not in failed.detail   # the remote traceback, plain text
    # Frames of the ticking job reached the driver while it ran, and every frame exactly once.
    first_frames = next(k for k, e in enumerate(events) if e[0] == "frames")
    ticking_done = next(k for k, e in enumerate(events) if e[0] == "result" and e[1] == 1)
    assert first_frames < ticking_done
    # Jobs report x at start, then their ticks: 2 + 20 and 3, once each; the killed job's 1 is
    # passed on only if its worker flushed it before the kill (its first report is 0.25 s in).
    # The same holds for the failing job's 4 (a job that raised returns no final count).
    assert sum(e[1] for e in events if e[0] == "frames") in {2 + 20 + 3 + k + j for k in (0, 1) for j in (0, 4)}
