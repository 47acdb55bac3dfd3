"""``sessionforge train``: train an FBAM model on termstream shards (streaming BPTT)."""

from __future__ import annotations

from pathlib import Path

import click

from sessionforge.errors import ConfigError


@click.command("train")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Run config (YAML/TOML), e.g. configs/debug.yaml. With --resume, defaults to RUN/config.yaml.")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Dataset directory (the shards its dataset.json lists, else shards/*.tss) or shard file; repeatable.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: config.yaml, tokenizer.json, metrics.jsonl, checkpoints/.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.window=256 --set model.integrator.lstm_impl=torch.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in --out.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs go to metrics.jsonl either way).")
def command(config_path: Path | None, data: tuple[Path, ...], out: Path, overrides: tuple[str, ...],
            resume: bool, no_progress: bool) -> None:
    """Train an FBAM model (frame head -> LSTM -> action tokens) on a dataset.

    \b
    Examples:
      sessionforge train --config configs/debug.yaml --data DATA --out runs/debug
      sessionforge train --config configs/fbam-base.yaml --data DATA --out runs/base \\
          --set train.window=4096 --set train.batch=16
      torchrun --nproc-per-node 8 -m sessionforge.cli train --config configs/fbam-base.yaml ...
      sessionforge train --data DATA --out runs/debug --resume --set train.steps=200
    """
    from sessionforge.config import load_config
    from sessionforge.train.config import TrainConfig

    if config_path is None:
        if not resume:
            raise ConfigError("--config is required (e.g. --config configs/debug.yaml) unless --resume is given")
        config_path = out / "config.yaml"
    cfg = load_config(TrainConfig, config_path, list(overrides))
    _run(cfg, data, out, resume, not no_progress)


def _run(cfg, data, out: Path, resume: bool, progress: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from sessionforge.train.loop import train

    import os

    # Under torchrun every rank runs this; only rank 0 draws the bar and prints.
    lead = int(os.environ.get("RANK", "0")) == 0
    console = Console(stderr=True, quiet=not lead)
    bar = Progress(
        TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not (progress and lead),
    )
    task = bar.add_task("train", total=cfg.train.steps, loss="-")
    with bar:
        result = train(
            cfg, list(data), out, resume=resume,
            on_start=lambda step, total: bar.update(task, completed=step, total=total),
            on_step=lambda step, loss: bar.update(task, completed=step, loss=f"{loss:.4f}"),
        )
    fps = result.frames / max(result.seconds, 1e-9)
    first = f"{result.losses[0]:.4f}" if result.losses else "-"
    last = f"{result.losses[-1]:.4f}" if result.losses else "-"
    console.print(
        f"trained {result.steps} steps, {result.parameters:,} parameters, {result.frames:,} frames "
        f"({fps:,.0f} frames/s); loss {first} -> {last}; run in {out}"
    )
