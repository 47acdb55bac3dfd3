"""The rollout report: per-point numbers summed up per policy, as a table and as JSON.

Means are over the points that have the number (token agreement needs at least one
recorded key after the hand-over). ``keys_per_cpu_second`` is the model rollout's frames
over the CPU seconds of its loop (frame head, integrator, sampling, editor, terminal,
snapshot, shard writer), the rate DESIGN.md section 7 asks for.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from sessionforge.rollout.loop import Timings

LABELS = {"model": "model", "recorded": "recorded", "ngram": "4-gram"}
CAPTION = ("recorded: the recorded keys from the rebuilt state (a self-check: distance 0); "
           "4-gram: sampled blind from the train split's 4-gram")
ROWS = (
    ("token_agreement", "token agreement, first {k} keys", "{:.3f}"),
    ("keys_to_divergence", "keys before divergence", "{:.1f}"),
    ("same_point_distance", "file edit distance, same point", "{:.1f}"),
    ("commit_end_distance", "file edit distance, commit end", "{:.1f}"),
    ("idle_frames", "idle frames (<cont>)", "{:.1f}"),
)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Per policy: the mean of every row over the points, and for the model its CPU time by stage."""
    out: dict[str, Any] = {}
    names = [n for n in LABELS if any(n in p["policies"] for p in points)]
    for name in names:
        rows = [p["policies"][name] for p in points if name in p["policies"]]
        s: dict[str, Any] = {key: _mean([r[key] for r in rows if r[key] is not None]) for key, _, _ in ROWS}
        s["points"] = len(rows)
        if name == "recorded":
            s["frames_match"] = sum(int(r["frames_match"]) for r in rows)
        if name == "model":
            tm = Timings()
            for r in rows:
                tm.add(Timings(**{k: v for k, v in r["cpu"].items() if k != "total"}))
            frames = sum(r["frames"] for r in rows)
            s["cpu"] = tm.to_dict()
            s["frames"] = frames
            s["keys_per_cpu_second"] = round(frames / tm.total, 1) if tm.total else None
            s["ms_per_key"] = {k: round(v / frames * 1e3, 4) for k, v in tm.to_dict().items()} if frames else {}
        out[name] = s
    return out


def render_table(report: dict[str, Any]) -> Table:
    """The summary table (one column per policy) of a report made by the command."""
    summary, settings = report["summary"], report["settings"]
    n = len(report["points"])
    where = (f"{report['points'][0]['session']} at frame {report['points'][0]['frame']}" if n == 1
             else f"{n} points drawn from the val split (seed {settings['seed']})")
    table = Table(title=f"rollout of {report['run']} (step {report['step']}): {settings['keys']} keys, {where}",
                  caption=CAPTION if "recorded" in summary else None)
    table.add_column("")
    names = list(summary)
    for name in names:
        table.add_column(LABELS[name], justify="right")

    def only(name: str, text: str) -> list[str]:
        return [text if nm == name else "" for nm in names]

    for key, label, fmt in ROWS:
        cells = []
        for name in names:
            v = summary[name].get(key)
            cells.append("-" if v is None else fmt.format(v))
        table.add_row(label.format(k=settings["compare"]), *cells)
    if "recorded" in summary:
        rec = summary["recorded"]
        table.add_row("frames equal to the recording", *only("recorded", f"{rec['frames_match']}/{rec['points']}"))
    model = summary.get("model", {})
    if model.get("keys_per_cpu_second") is not None:
        table.add_row("keys per CPU second", *only("model", f"{model['keys_per_cpu_second']:,.0f}"))
        for stage in ("model", "editor", "terminal", "snapshot", "write"):
            table.add_row(f"  ms per key: {stage}", *only("model", f"{model['ms_per_key'][stage]:.3f}"))
    return table


__all__ = ["LABELS", "render_table", "summarize"]
