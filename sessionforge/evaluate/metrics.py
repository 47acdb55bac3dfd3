"""Summaries of per-target scores: the numbers of the eval table, and the table itself.

For each predictor (the model and the baselines), over the same targets:

- ``cross_entropy``: mean nats per action token (``<cont>`` targets included, as in training);
- ``bits_per_byte``: total nats / ln 2 / action bytes covered (the bytes of every frame
  whose keys are a target: frames 1..L of each window). The byte count does not depend on
  the tokenizer, so runs with different vocabularies compare;
- ``top1``, ``top5``: share of targets that are the most probable / among the 5 most probable;
- ``loss_by_position``: mean nats of the targets in each of ``buckets`` equal-width position
  ranges of the window (bucket k covers positions [round(k L / n), round((k+1) L / n)),
  the same edges as training's ``loss_by_position``); pooled over targets, not a mean of
  per-position means;
- ``loss_by_class``: mean nats of the targets of each action class
  (:mod:`sessionforge.evaluate.classes`), ``None`` for a class with no target.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sessionforge.evaluate.baselines import Scores
from sessionforge.evaluate.classes import CLASSES


def bucket_edges(window: int, buckets: int) -> list[tuple[int, int]]:
    """[start, end) positions of each equal-width bucket (at most one bucket per position)."""
    n = max(1, min(buckets, window))
    edges = [round(k * window / n) for k in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def summarize(scores: Scores, positions: np.ndarray, classes: np.ndarray, action_bytes: int,
              edges: list[tuple[int, int]]) -> dict[str, Any]:
    """The numbers of one predictor: scores (N,), each target's position in its window (N,) and
    class index (N,), the action bytes the targets cover, and the position buckets."""
    n = len(scores.nats)
    total = float(scores.nats.sum())

    def mean(mask: np.ndarray) -> float | None:
        k = int(mask.sum())
        return float(scores.nats[mask].sum() / k) if k else None

    return {
        "cross_entropy": total / n if n else None,
        "bits_per_byte": total / math.log(2) / action_bytes if action_bytes else None,
        "top1": float(scores.top1.mean()) if n else None,
        "top5": float(scores.top5.mean()) if n else None,
        "loss_by_position": [mean((positions >= a) & (positions < b)) for a, b in edges],
        "loss_by_class": {name: mean(classes == i) for i, name in enumerate(CLASSES)},
    }


# Table labels of the classes whose JSON names are terse.
_CLASS_LABELS = {"none": "no new key (<cont>)", "file": "file command"}


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else f"{x:.4f}"


def render_table(report: dict[str, Any]):
    """A rich Table of an eval report (:func:`sessionforge.evaluate.runner.evaluate`'s dict)."""
    from rich.table import Table  # rich is a base dependency; imported here to keep the module light

    names = list(report["predictors"])
    cols = report["predictors"]
    table = Table(title=f"{report['split']} split: {report['targets']:,} action tokens over "
                        f"{report['frames']:,} frames, {report['action_bytes']:,} action bytes",
                  title_justify="left",
                  caption=f"baselines fitted on {report['baselines']['train_targets']:,} targets of "
                          f"{report['baselines']['train_sessions']:,} train sessions: the {report['labels']['ngram']} "
                          "is interpolated Witten-Bell, the unigram add-one",
                  caption_justify="left")
    table.add_column("metric")
    for name in names:
        table.add_column(report["labels"][name], justify="right")
    table.add_column("targets", justify="right")

    def row(label: str, values: list[str], count: str = "", end: bool = False) -> None:
        table.add_row(label, *values, count, end_section=end)

    row("cross-entropy (nats/token)", [_fmt(cols[n]["cross_entropy"]) for n in names], f"{report['targets']:,}")
    row("bits per action byte", [_fmt(cols[n]["bits_per_byte"]) for n in names])
    row("top-1 accuracy", [_fmt(cols[n]["top1"], pct=True) for n in names])
    row("top-5 accuracy", [_fmt(cols[n]["top5"], pct=True) for n in names], end=True)
    for k, (a, b) in enumerate(report["position_buckets"]):
        row(f"loss, position {a}" if b - a == 1 else f"loss, positions {a}-{b - 1}", [_fmt(cols[n]["loss_by_position"][k]) for n in names],
            f"{report['position_counts'][k]:,}", end=k == len(report["position_buckets"]) - 1)
    for name in CLASSES:
        count = report["class_counts"][name]
        if count:
            row(f"loss, {_CLASS_LABELS.get(name, name)}", [_fmt(cols[n]["loss_by_class"][name]) for n in names],
                f"{count:,} ({100 * count / max(report['targets'], 1):.1f}%)")
    return table


__all__ = ["bucket_edges", "render_table", "summarize"]
