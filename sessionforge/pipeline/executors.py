"""Executors: run ``fn(job, progress) -> outcome`` over many jobs in-process, in a process pool, or on Ray.

All three call the same module-level job functions with the same small picklable jobs
(:mod:`sessionforge.pipeline.jobs`), so the executor can change what runs where and when,
never what a job writes. Outcomes come back through ``on_result(index, outcome)`` in
completion order; the caller sorts. A job that could not finish (its worker died, it ran
past its time limit, Ray could not run it) comes back as a :class:`Failure`.

The process pool is our own small one rather than ``concurrent.futures``: it knows which
job each worker holds, so a worker that dies costs only that job a retry (a broken
``ProcessPoolExecutor`` fails every job in flight), and a worker stuck past the time
limit can be killed and replaced.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import tempfile
import time
from collections import Counter, deque
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Protocol, Sequence

from sessionforge.pipeline.jobs import Failure, Job, failure_from_exception, remote_failure

OnProgress = Callable[[int], None]
JobFn = Callable[[Any, OnProgress], Any]     # (job, progress) -> outcome; module-level, so it pickles
OnResult = Callable[[int, Any], None]

KILL_GRACE_S = 10.0        # past timeout + this, a worker that ignored the soft limit is killed
PROGRESS_EVERY_S = 0.25    # how often workers report frames done (keeps pipe traffic tiny)


class Executor(Protocol):
    """Runs many jobs; the build's phases do not know which executor runs them."""

    def map(self, fn: JobFn, jobs: Sequence[Job], on_result: OnResult, on_progress: OnProgress) -> None:
        """Run ``fn`` on every job; call ``on_result`` once per job."""

    def close(self) -> None:
        """Release workers (a pool or a Ray runtime is kept between ``map`` calls until then)."""


class LocalExecutor:
    """Runs jobs one after another in this process (no start-up cost; best for one repository)."""

    def map(self, fn: JobFn, jobs: Sequence[Job], on_result: OnResult, on_progress: OnProgress) -> None:
        for i, job in enumerate(jobs):
            try:
                res = fn(job, on_progress)
            except Exception as exc:  # job functions report their own errors; this is a last resort
                res = failure_from_exception("worker", exc)
            on_result(i, res)

    def close(self) -> None:
        pass


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the build process dies (e.g. ``kill -9``),
    so an orphan never keeps writing into a folder that a resumed build is using."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn: Connection) -> None:
    """A pool worker: receive (index, fn, job), run it, send progress and the result back."""
    _die_with_parent()
    # Ctrl-C reaches the whole process group: the driver handles it (it stops the workers and
    # prints one line); a worker's own KeyboardInterrupt would only add a traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        index, fn, job = msg
        pending = [0, time.monotonic()]

        def progress(n: int) -> None:
            pending[0] += n
            now = time.monotonic()
            if now - pending[1] >= PROGRESS_EVERY_S:
                conn.send(("progress", pending[0]))
                pending[0], pending[1] = 0, now

        try:
            res = fn(job, progress)
        except Exception as exc:  # job functions report their own errors; this is a last resort
            res = failure_from_exception("worker", exc)
        if pending[0]:
            conn.send(("progress", pending[0]))
        conn.send(("done", index, res))


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.deadline: float | None = None

    def give(self, index: int, fn: JobFn, job: Job) -> None:
        self.index = index
        timeout = job.timeout
        self.deadline = time.monotonic() + timeout + KILL_GRACE_S if timeout else None
        self.conn.send((index, fn, job))  # fn travels by reference: a module-level function

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


class ProcessExecutor:
    """A pool of ``workers`` spawned processes; a job whose worker dies is retried ``retries`` times."""

    def __init__(self, workers: int, retries: int = 2) -> None:
        self.workers = max(1, workers)
        self.retries = retries
        # spawn, not fork: the driver holds threads (progress bar) and libgit2 state that fork would copy
        self._ctx = mp.get_context("spawn")
        self._pool: list[_Worker] = []   # kept between map() calls: planning and replay share it

    def map(self, fn: JobFn, jobs: Sequence[Job], on_result: OnResult, on_progress: OnProgress) -> None:
        todo: deque[int] = deque(range(len(jobs)))
        deaths: Counter[int] = Counter()
        pool = self._pool
        try:
            while todo or any(w.index is not None for w in pool):
                while todo and len(pool) < min(self.workers, len(todo) + sum(w.index is not None for w in pool)):
                    pool.append(_Worker(self._ctx))
                for w in list(pool):
                    if w.index is None and todo:
                        i = todo.popleft()
                        try:
                            w.give(i, fn, jobs[i])
                        except OSError:  # died while idle (e.g. killed for memory): replace it
                            w.index = None
                            todo.appendleft(i)
                            self._died(w, pool, todo, deaths, on_result)
                busy = [w for w in pool if w.index is not None]
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=0.5))
                for w in busy:
                    if w.conn in ready or w.proc.sentinel in ready:
                        if not self._drain(w, on_result, on_progress):
                            self._died(w, pool, todo, deaths, on_result)
                    elif w.deadline is not None and time.monotonic() > w.deadline:
                        assert w.index is not None
                        i = w.index
                        w.kill()
                        pool.remove(w)
                        on_result(i, Failure("timeout", f"killed after {jobs[i].timeout:g} s "
                                                        f"(+{KILL_GRACE_S:g} s grace)"))
        except BaseException as exc:
            # Workers may be mid-job: never hand them the next map's jobs. On Ctrl-C do not wait
            # for them either: their slices have no marker yet, so a rerun redoes them.
            self.close(now=isinstance(exc, KeyboardInterrupt))
            raise

    def close(self, now: bool = False) -> None:
        """Stop the workers: let each finish its job (up to 5 s), or kill them at once (``now``)."""
        pool, self._pool = self._pool, []
        if now:
            for w in pool:
                w.kill()
            return
        for w in pool:
            w.stop()
        for w in pool:
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                w.kill()

    def _drain(self, w: _Worker, on_result: OnResult, on_progress: OnProgress) -> bool:
        """Read every message the worker sent; False if the worker is dead."""
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                if msg[0] == "progress":
                    on_progress(msg[1])
                else:
                    w.index, w.deadline = None, None
                    on_result(msg[1], msg[2])
        except (EOFError, OSError):
            return False
        return w.proc.is_alive()

    def _died(self, w: _Worker, pool: list[_Worker], todo: deque[int], deaths: Counter[int],
              on_result: OnResult) -> None:
        i = w.index
        w.proc.join()
        code = w.proc.exitcode
        w.conn.close()
        pool.remove(w)
        if i is None:
            return
        deaths[i] += 1
        if deaths[i] <= self.retries:
            todo.appendleft(i)
        else:
            on_result(i, Failure("worker", f"worker process died (exit code {code}) on "
                                           f"{deaths[i]} attempts"))


class RayExecutor:
    """Runs jobs as Ray tasks: on a cluster (``address="auto"`` or ``HOST:PORT``) or a local Ray
    started for this build with ``workers`` CPUs. Ray retries tasks whose worker died.

    Tasks report to a small progress actor (``_ProgressBoard``): when they start and how many
    frames they have done, so the driver shows frames while tasks run (not only when they
    end) and can force-cancel a task running past its time limit plus ``KILL_GRACE_S``
    (the soft limit inside the task cannot interrupt code stuck outside Python). Elapsed
    times are measured on the actor's clock only, so driver and workers may sit on
    different machines.
    """

    POLL_S = 0.5  # how often the driver reads the progress board

    def __init__(self, address: str | None, workers: int | None, retries: int = 2) -> None:
        self.address, self.workers, self.retries = address, workers, retries
        self._started = False

    def _init(self) -> Any:
        import ray  # ~1 s to import, and only Ray builds need it

        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.WARNING,
                                          # a job's failure comes back as its row; workers' log spam does not
                                          log_to_driver=bool(os.environ.get("SESSIONFORGE_DEBUG")))
            if self.address is None:
                kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
                # A Ray started for this build only listens on this machine: its token warning is noise.
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            # Ray puts the driver's current directory on every worker's sys.path (ahead of
            # site-packages): started from a folder holding a checkout, its `sessionforge/`
            # would shadow the installed package. Start Ray from a folder with nothing to import.
            cwd = os.getcwd()
            with tempfile.TemporaryDirectory(prefix="sessionforge-ray-") as neutral:
                os.chdir(neutral)
                try:
                    ray.init(address=self.address, **kwargs)
                finally:
                    os.chdir(cwd)
            self._started = True
        return ray

    def map(self, fn: JobFn, jobs: Sequence[Job], on_result: OnResult, on_progress: OnProgress) -> None:
        if not jobs:
            return
        ray = self._init()
        board = ray.remote(num_cpus=0)(_ProgressBoard).remote()
        remote = ray.remote(num_cpus=1, max_retries=self.retries)(_ray_call)
        refs = {remote.remote(fn, job, i, board): i for i, job in enumerate(jobs)}
        reported: Counter[int] = Counter()  # frames already passed to on_progress, per job
        next_poll = time.monotonic() + self.POLL_S
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1, timeout=self.POLL_S)
                for ref in done:
                    i = refs.pop(ref)
                    try:
                        res, frames = ray.get(ref)
                    except Exception as exc:  # WorkerCrashedError after retries, errors before fn ran
                        res, frames = remote_failure("worker", exc), 0
                    if frames > reported[i]:
                        on_progress(frames - reported[i])
                    on_result(i, res)
                if refs and time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.POLL_S
                    self._poll(ray, board, refs, jobs, reported, on_result, on_progress)
        finally:
            for ref in refs:  # interrupted: do not leave tasks running for nobody
                ray.cancel(ref, force=True)
            ray.kill(board)

    def _poll(self, ray: Any, board: Any, refs: dict, jobs: Sequence[Job], reported: Counter[int],
              on_result: OnResult, on_progress: OnProgress) -> None:
        """Pass on running tasks' frames; force-cancel tasks past their time limit + grace."""
        snapshot = ray.get(board.snapshot.remote())  # {index: (seconds running, frames)}
        for ref, i in list(refs.items()):
            if i not in snapshot:
                continue  # still queued
            elapsed, frames = snapshot[i]
            if frames > reported[i]:
                on_progress(frames - reported[i])
                reported[i] = frames
            limit = jobs[i].timeout
            if limit and elapsed > limit + KILL_GRACE_S:
                ray.cancel(ref, force=True)  # kills the worker; cancelled tasks are not retried
                del refs[ref]
                on_result(i, Failure("timeout", f"killed after {limit:g} s (+{KILL_GRACE_S:g} s grace)"))

    def close(self) -> None:
        if self._started:
            import ray  # already imported by _init when _started

            ray.shutdown()
            self._started = False


class _ProgressBoard:
    """Ray actor: when each task (attempt) started and its frames so far, on one clock."""

    def __init__(self) -> None:
        self.start: dict[int, float] = {}
        self.frames: dict[int, int] = {}

    def started(self, index: int) -> None:
        self.start[index] = time.monotonic()  # a retried attempt restarts the clock

    def progress(self, index: int, frames: int) -> None:
        self.frames[index] = max(frames, self.frames.get(index, 0))

    def snapshot(self) -> dict[int, tuple[float, int]]:
        now = time.monotonic()
        return {i: (now - t, self.frames.get(i, 0)) for i, t in self.start.items()}


def _ray_call(fn: JobFn, job: Job, index: int, board: Any) -> tuple[Any, int]:
    """Run one job in a Ray worker; returns ``(result, frames reported through progress)``."""
    board.started.remote(index)
    done = [0, time.monotonic()]  # frames so far, last report time

    def progress(n: int) -> None:
        done[0] += n
        now = time.monotonic()
        if now - done[1] >= PROGRESS_EVERY_S:
            board.progress.remote(index, done[0])
            done[1] = now

    return fn(job, progress), done[0]


def make_executor(kind: str, workers: int | None, retries: int, ray_address: str | None) -> Executor:
    """The executor named ``kind`` ("local", "process" or "ray")."""
    if kind == "local":
        return LocalExecutor()
    if kind == "process":
        return ProcessExecutor(workers or os.cpu_count() or 1, retries)
    if kind == "ray":
        return RayExecutor(ray_address, workers, retries)
    raise ValueError(f"unknown executor {kind!r}")
