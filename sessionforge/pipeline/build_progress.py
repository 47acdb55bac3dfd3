"""What a person watching the build sees: a progress bar on a terminal, one line per job in a
log (batch jobs), and the summary table at the end."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sessionforge.pipeline.jobs import Failure, SliceResult
from sessionforge.words import count


class BuildProgress:
    """Tracks jobs done and frames replayed; draws a rich bar on a TTY, else logs lines."""

    def __init__(self, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self.frames = 0
        self.t0 = time.perf_counter()
        self._progress: Progress | None = None
        self._bar: Any = None  # rich's id of the bar
        self._done = 0
        self._total = 0
        self._phase = ""
        self._repo_left: dict[str, int] = {}
        self._repos_done = 0

    def start(self, phase: str, total: int, repos: list[str] | None = None) -> None:
        """Begin a phase ("planning", "replaying") of ``total`` jobs; ``repos[i]`` is job i's
        repository, so the bar can count repositories finished, not only jobs."""
        self.stop()
        self._phase, self._total, self._done = phase, total, 0
        self._repo_left = {}
        for r in repos or []:
            self._repo_left[r] = self._repo_left.get(r, 0) + 1
        self._repos_done = 0
        if phase == "replaying":
            self.t0 = time.perf_counter()
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("jobs  {task.fields[repos]}  {task.fields[frames]:,} frames  "
                           "{task.fields[rate]:,.0f} frames/s"),
                TimeElapsedColumn(), console=self.console, transient=False)
            self._progress.start()
            # the description is formatted into "[bold]...": escape it, it is text, not markup
            self._bar = self._progress.add_task(escape(phase), total=total, frames=self.frames, rate=0.0,
                                                 repos=self._repos_text())
        elif self.enabled and total:
            self.console.print(f"{phase}: {count(total, 'job')}", highlight=False, markup=False, soft_wrap=True)

    def add_frames(self, n: int) -> None:
        self.frames += n
        self._refresh()

    def _repos_text(self) -> str:
        return f"{self._repos_done}/{len(self._repo_left)} repos" if self._repo_left else ""

    def job_done(self, name: str, outcome: object, repo: str | None = None) -> None:
        """One job finished with ``outcome`` (a plan, a slice result or a
        :class:`~sessionforge.pipeline.jobs.Failure`); ``repo`` counts toward repositories done."""
        if repo in self._repo_left:
            self._repo_left[repo] -= 1
            self._repos_done += self._repo_left[repo] == 0
        self._done += 1
        self._refresh(advance=1)
        if not self.enabled:
            return
        if isinstance(outcome, Failure):
            # Failures are printed on a terminal too (above the bar): the summary only counts them.
            what = f"FAILED at {outcome.stage}: {outcome.message}"
            if outcome.detail and os.environ.get("SESSIONFORGE_DEBUG"):
                what += "\n" + outcome.detail.rstrip()
        elif self.live or self._phase == "planning":
            return  # a log line per planned repository is noise; the bar shows the rest
        elif isinstance(outcome, SliceResult):
            what = f"ok, {count(outcome.frames, 'frame')}"
        else:
            what = "ok"
        self.console.print(f"[{self._done}/{self._total}] {name}: {what}", highlight=False, markup=False,
                           soft_wrap=True)  # one line per job in a log, however long

    def rate(self) -> float:
        dt = time.perf_counter() - self.t0
        return self.frames / dt if dt > 0 else 0.0

    def _refresh(self, advance: int = 0) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, advance=advance, frames=self.frames, rate=self.rate(),
                                  repos=self._repos_text())

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def summary_table(doc: dict[str, Any], frames_per_s: float | None) -> Table:
    """The end-of-build summary from dataset.json's totals."""
    t = doc["totals"]
    table = Table(title="build summary", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("repositories ok", f"{t['repositories_ok']:,}"),
        ("repositories failed", f"{t['repositories_failed']:,}"),
        ("duplicates (built once)", f"{t.get('repositories_duplicate', 0):,}"),
        ("filtered out", f"{t['filtered_out']:,}"),
        ("commits", f"{t['commits']:,}"),
        ("sessions", f"{t['sessions']:,}"),
        ("shards", f"{t['shards']:,}"),
        ("frames", f"{t['frames']:,}"),
        ("frames/s (this run)", "-" if frames_per_s is None else f"{frames_per_s:,.0f}"),
        ("bytes", f"{t['bytes']:,}"),
        ("bytes/frame", "-" if t["bytes_per_frame"] is None else f"{t['bytes_per_frame']:.2f}"),
        ("lossless failures", f"{t['lossless_failures']:,}"),
    ]
    rows += [(f"skipped: {reason}", f"{n:,}") for reason, n in sorted(t["skipped"].items())]
    for what, value in rows:
        table.add_row(escape(what), escape(value))  # reasons are data, not markup
    return table


def stdout_console() -> Console:
    return Console(file=sys.stdout)
