"""Render a :class:`ScalingAnalysis`: four PNG plots and a markdown summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sessionforge.tasks.results import pyplot
from sessionforge.tasks.scaling import ScalingAnalysis


def smooth(y: np.ndarray, points: int = 50) -> np.ndarray:
    """Trailing moving average over about len(y)/points samples (keeps the curve's length)."""
    k = max(1, len(y) // points)
    if k == 1:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    out = np.empty_like(y, dtype=float)
    out[k - 1:] = (c[k:] - c[:-k]) / k
    out[:k - 1] = c[1:k] / np.arange(1, k)
    return out


def write_report(a: ScalingAnalysis, out_dir: Path) -> list[Path]:
    """Write loss_vs_window.png, alpha_vs_step.png, loss_vs_time.png, loss_by_position.png, summary.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    written = []
    windows = np.array([r.window for r in a.runs], dtype=float)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.loglog(windows, a.final_loss, "o", label="final loss (tail mean)")
    xs = np.geomspace(windows.min(), windows.max(), 50)
    ax.loglog(xs, a.fit.A * xs ** -a.fit.alpha, "-",
              label=f"fit {a.fit.A:.3g} L^-{a.fit.alpha:.3f} (R² {a.fit.r2:.3f})")
    ax.set_xlabel("training window L (frames)")
    ax.set_ylabel("loss")
    ax.set_title("loss vs window length")
    _finish(plt, fig, ax, out_dir / "loss_vs_window.png", written)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    if a.bucket_steps:
        ax.plot(a.bucket_steps, a.bucket_alpha, "o-")
    ax.set_xlabel("training step (bucket centre)")
    ax.set_ylabel("alpha")
    ax.set_title("power-law exponent as training goes on")
    _finish(plt, fig, ax, out_dir / "alpha_vs_step.png", written, legend=False)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for r in a.runs:
        ok = np.isfinite(r.elapsed)
        if ok.any():
            ax.plot(r.elapsed[ok], smooth(r.loss[ok]), label=f"L={r.window}")
    ax.set_yscale("log")
    ax.set_xlabel("wall-clock time (s)")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("loss vs wall-clock time")
    _finish(plt, fig, ax, out_dir / "loss_vs_time.png", written)

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for r in a.runs:
        if r.loss_by_position:
            nb = len(r.loss_by_position)
            pos = (np.arange(nb) + 0.5) * r.window / nb  # bucket centres in frames
            ax.plot(pos, r.loss_by_position, "o-", markersize=3, label=f"L={r.window}")
    ax.set_xscale("log")
    ax.set_xlabel("position within the window (frames)")
    ax.set_ylabel("loss (last log)")
    ax.set_title("loss by position within the window")
    _finish(plt, fig, ax, out_dir / "loss_by_position.png", written)

    md = out_dir / "summary.md"
    md.write_text(summary_markdown(a), encoding="utf-8")
    return written + [md]


def _finish(plt, fig, ax, path: Path, written: list[Path], legend: bool = True) -> None:
    ax.grid(True, which="both", alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    written.append(path)


def best_at_time(a: ScalingAnalysis) -> tuple[float, int] | None:
    """(t, L): at the last time every run reached, the window with the lowest smoothed loss."""
    ends = [float(np.nanmax(r.elapsed)) for r in a.runs if np.isfinite(r.elapsed).any()]
    if len(ends) != len(a.runs):
        return None
    t = min(ends)
    best = None
    for r in a.runs:
        ok = np.isfinite(r.elapsed)
        curve = smooth(r.loss[ok])
        i = int(np.searchsorted(r.elapsed[ok], t, side="right")) - 1
        if i >= 0 and (best is None or curve[i] < best[0]):
            best = (float(curve[i]), r.window)
    return None if best is None else (t, best[1])


def summary_markdown(a: ScalingAnalysis) -> str:
    """The report as markdown: runs table, fit, alpha per bucket, caveats, plot links."""
    lines = ["# Scaling report: loss vs training window length", "",
             f"Fit on final losses: **loss = {a.fit.A:.4g} · L^-{a.fit.alpha:.4f}** "
             f"(R² = {a.fit.r2:.4f}, {len(a.runs)} runs).", ""]
    if a.config_differences:
        shown = ", ".join(f"`{k}`" for k in a.config_differences[:10])
        more = f" and {len(a.config_differences) - 10} more" if len(a.config_differences) > 10 else ""
        lines += [f"**Warning:** the runs differ in more than the window length: {shown}{more}.", ""]
    lines += ["| run | L | logged steps | last step | final loss | wall-clock (s) |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r, loss in zip(a.runs, a.final_loss):
        wall = f"{np.nanmax(r.elapsed):.1f}" if np.isfinite(r.elapsed).any() else "-"
        lines.append(f"| {r.name} | {r.window} | {len(r.steps)} | {int(r.steps[-1])} | {loss:.4f} | {wall} |")
    lines.append("")
    if a.bucket_steps:
        lines += ["## alpha as training goes on", "", "| step (bucket centre) | alpha | R² |", "| ---: | ---: | ---: |"]
        lines += [f"| {s:.0f} | {al:.4f} | {r2:.3f} |" for s, al, r2 in zip(a.bucket_steps, a.bucket_alpha, a.bucket_r2)]
        lines.append("")
    best = best_at_time(a)
    if best is not None:
        lines += [f"At t = {best[0]:.1f} s (the time every run reached) the lowest smoothed loss is "
                  f"L = {best[1]}'s.", ""]
    lines += ["![loss vs window](loss_vs_window.png)", "![alpha vs step](alpha_vs_step.png)",
              "![loss vs time](loss_vs_time.png)", "![loss by position](loss_by_position.png)", ""]
    return "\n".join(lines)
