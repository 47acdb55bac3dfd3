"""Loss against training-window length: read training runs, fit loss(L) = A * L^-alpha.

A run folder (written by ``sessionforge train``) holds ``config.yaml`` (the window
length at ``train.window``) and ``metrics.jsonl`` (one JSON object per logged step:
``step``, ``loss``, ``elapsed_s``, ``loss_by_position``, ...). Given runs that differ
only in L, :func:`analyse` fits the power law by least squares in log-log space on
each run's final (tail-averaged) loss, and again per bucket of training steps, so
alpha can be followed as training goes on. Numpy only; plots live in scaling_report.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sessionforge.config import flatten
from sessionforge.errors import SessionforgeError


class ReportError(SessionforgeError):
    """A run folder is missing, unreadable or not a training run."""


@dataclass
class Run:
    """The metrics of one training run, sorted by step (later duplicates from resumes win)."""

    path: Path
    window: int
    config: dict[str, Any]
    steps: np.ndarray  # (K,) int
    loss: np.ndarray  # (K,) float, > 0
    elapsed: np.ndarray  # (K,) float seconds, NaN where not logged
    loss_by_position: list[float] | None  # the last logged per-position losses, if any

    @property
    def name(self) -> str:
        """Folder name, for tables and legends."""
        return self.path.name or str(self.path)


@dataclass
class PowerLawFit:
    """loss = A * L^-alpha, fitted in log-log space; r2 of that linear fit."""

    A: float
    alpha: float
    r2: float


@dataclass
class ScalingAnalysis:
    """Everything the report shows."""

    runs: list[Run]
    final_loss: list[float]  # per run, mean of the last `tail` fraction of logged losses
    fit: PowerLawFit
    bucket_steps: list[float] = field(default_factory=list)  # centre step of each bucket
    bucket_alpha: list[float] = field(default_factory=list)
    bucket_r2: list[float] = field(default_factory=list)
    config_differences: list[str] = field(default_factory=list)  # keys other than train.window


def load_run(path: str | Path) -> Run:
    """Read one run folder; raise :class:`ReportError` naming the file (and line) on bad input."""
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: not a run folder (no such directory)")
    cfg_path = path / "config.yaml"
    if not cfg_path.is_file():
        raise ReportError(f"{cfg_path}: missing (is {path} a 'sessionforge train' run folder?)")
    try:
        config = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ReportError(f"{cfg_path}: cannot parse YAML: {exc}") from None
    window = (config or {}).get("train", {}).get("window") if isinstance(config, dict) else None
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ReportError(f"{cfg_path}: train.window must be a positive integer, got {window!r}")
    steps, losses, elapsed, by_pos = _read_metrics(path / "metrics.jsonl")
    order = np.argsort(np.asarray(steps), kind="stable")
    s = np.asarray(steps)[order]
    keep = np.append(s[1:] != s[:-1], True)  # a resumed run may log a step twice: keep the last
    return Run(path=path, window=window, config=config, steps=s[keep],
               loss=np.asarray(losses, dtype=float)[order][keep],
               elapsed=np.asarray(elapsed, dtype=float)[order][keep], loss_by_position=by_pos)


def _read_metrics(mpath: Path) -> tuple[list[int], list[float], list[float], list[float] | None]:
    if not mpath.is_file():
        raise ReportError(f"{mpath}: missing (the run has logged no metrics)")
    steps: list[int] = []
    losses: list[float] = []
    elapsed: list[float] = []
    by_pos: list[float] | None = None
    with mpath.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReportError(f"{mpath}: line {lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or "loss" not in rec:
                continue  # other records (events, evaluations) carry no training loss
            step, loss = rec.get("step"), rec["loss"]
            if isinstance(step, bool) or not isinstance(step, int):
                raise ReportError(f"{mpath}: line {lineno}: 'step' must be an integer, got {step!r}")
            if not _number(loss) or not loss > 0 or not math.isfinite(loss):
                raise ReportError(f"{mpath}: line {lineno}: 'loss' must be a positive finite number, got {loss!r}")
            t = rec.get("elapsed_s")
            steps.append(step)
            losses.append(float(loss))
            elapsed.append(float(t) if _number(t) else math.nan)
            pos = rec.get("loss_by_position")
            if isinstance(pos, list) and pos and all(_number(v) for v in pos):
                by_pos = [float(v) for v in pos]
    if not steps:
        raise ReportError(f"{mpath}: no line with a 'loss' (the run has logged no training step)")
    return steps, losses, elapsed, by_pos


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fit_power_law(windows: Any, losses: Any) -> PowerLawFit:
    """Least-squares fit of log(loss) = log(A) - alpha * log(L)."""
    x = np.log(np.asarray(windows, dtype=float))
    y = np.log(np.asarray(losses, dtype=float))
    if len(np.unique(x)) < 2:
        raise ReportError("need runs with at least 2 different window lengths to fit loss(L)")
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / total if total > 0 else 1.0
    return PowerLawFit(A=float(math.exp(intercept)), alpha=float(-slope), r2=r2)


def tail_mean(loss: np.ndarray, tail: float) -> float:
    """Mean of the last ``tail`` fraction of a loss curve (at least one point): the final loss."""
    k = max(1, int(round(len(loss) * tail)))
    return float(loss[-k:].mean())


def analyse(paths: list[str | Path], tail: float = 0.1, buckets: int = 8) -> ScalingAnalysis:
    """Load the runs, fit the final-loss power law and alpha per bucket of training steps."""
    if not paths:
        raise ReportError("give at least two run folders")
    if not 0 < tail <= 1:
        raise ReportError(f"--tail must be in (0, 1], got {tail}")
    if buckets < 1:
        raise ReportError(f"--buckets must be >= 1, got {buckets}")
    runs = sorted((load_run(p) for p in paths), key=lambda r: r.window)
    final = [tail_mean(r.loss, tail) for r in runs]
    result = ScalingAnalysis(runs=runs, final_loss=final,
                             fit=fit_power_law([r.window for r in runs], final),
                             config_differences=differing_keys(runs))
    # buckets over the step range every run covers, so each fit compares like with like
    last = min(int(r.steps[-1]) for r in runs)
    first = max(int(r.steps[0]) for r in runs)
    edges = np.linspace(first, last, buckets + 1) if last > first else np.array([])
    for lo, hi in zip(edges[:-1], edges[1:]):
        means = []
        for r in runs:
            sel = (r.steps >= lo) & (r.steps <= hi)
            if not sel.any():
                break
            means.append(float(r.loss[sel].mean()))
        else:
            fit = fit_power_law([r.window for r in runs], means)
            result.bucket_steps.append(float((lo + hi) / 2))
            result.bucket_alpha.append(fit.alpha)
            result.bucket_r2.append(fit.r2)
    return result


def differing_keys(runs: list[Run]) -> list[str]:
    """Dotted config keys, other than train.window, whose values are not the same in every run."""
    flat = [flatten(r.config) for r in runs]
    keys = sorted(set().union(*flat))
    return [k for k in keys if k != "train.window" and len({json.dumps(f.get(k), sort_keys=True, default=str)
                                                            for f in flat}) > 1]
