"""``sessionforge report``: reports over training runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="report")
def command() -> None:
    """Reports over training runs written by 'sessionforge train'."""


@command.command(name="scaling")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="scaling-report",
              show_default=True, help="Folder for the PNG plots and summary.md")
@click.option("--tail", type=float, default=0.1, show_default=True,
              help="Fraction of each run's last logged losses averaged into its final loss")
@click.option("--buckets", type=int, default=8, show_default=True,
              help="Step buckets for alpha as training goes on")
def scaling(runs: tuple[str, ...], out_dir: str, tail: float, buckets: int) -> None:
    """Fit loss(L) = A * L^-alpha across RUNS that differ only in window length L.

    Reads RUN/config.yaml (train.window) and RUN/metrics.jsonl of each run; writes
    loss_vs_window.png, alpha_vs_step.png, loss_vs_time.png, loss_by_position.png and
    summary.md.

    \b
    Example:
      sessionforge report scaling runs/L256 runs/L1024 runs/L4096 -o report/
    """
    from sessionforge.tasks.scaling import analyse
    from sessionforge.tasks.scaling_report import write_report

    analysis = analyse(list(runs), tail=tail, buckets=buckets)
    click.echo(f"loss = {analysis.fit.A:.4g} * L^-{analysis.fit.alpha:.4f}  (R^2 {analysis.fit.r2:.4f}, "
               f"{len(analysis.runs)} runs, L = {', '.join(str(r.window) for r in analysis.runs)})")
    if analysis.config_differences:
        click.echo(f"warning: runs also differ in {', '.join(analysis.config_differences[:5])}", err=True)
    for path in write_report(analysis, Path(out_dir)):
        click.echo(f"wrote {path}")
