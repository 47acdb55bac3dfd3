"""A soft per-job time limit: SIGALRM raises inside the job, so it fails with a clear error row.

The process pool and Ray executors also kill a worker that overruns by more than a grace
period, for code stuck where a signal cannot interrupt it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from sessionforge.errors import SessionforgeError


class TimeLimitExceeded(SessionforgeError):
    """A job ran past the per-repository time limit."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in this thread after ``seconds`` (main thread only; else no-op)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise TimeLimitExceeded(f"time limit of {seconds:g} s exceeded")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
