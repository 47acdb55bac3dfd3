"""``sessionforge bench``: synthetic recurrence benchmarks (FRJT, Withheld Maze)."""

from __future__ import annotations

from pathlib import Path

import click

from sessionforge.errors import SessionforgeError


@click.group(name="bench")
def command() -> None:
    """Synthetic benchmarks that test the recurrence claim (see sessionforge/tasks/TASKS.md)."""


def _int_list(value: str | None, what: str) -> list[int] | None:
    if value is None:
        return None
    try:
        items = [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}", param_hint=what) from None
    if not items:
        raise click.BadParameter("expected at least one value", param_hint=what)
    return items


@command.command(name="recurrence")
@click.option("--task", type=click.Choice(["frjt", "maze"]), default=None,
              help="frjt = Forward-Referencing Jumps, maze = Withheld Maze Position Tracking  [default: frjt]")
@click.option("--n", "n_list", metavar="N,N,...", default=None,
              help="Stream sizes to test (instructions or moves)  [default: 16,64,256]")
@click.option("--backbone", "backbones", metavar="NAME,...", default=None,
              help="Backbones among lstm, transformer, linear-rnn  [default: all three]")
@click.option("--layers", metavar="L[,L,...]", default=None,
              help="Depth: one value for every backbone or one per --backbone  [default: 1]")
@click.option("--steps", type=int, default=None, help="Optimiser steps per (backbone, n)  [default: 250]")
@click.option("--hidden", type=int, default=None, help="Width of every backbone  [default: 64]")
@click.option("--heads", type=int, default=None, help="Attention heads of the Transformer  [default: 4]")
@click.option("--batch", type=int, default=None, help="Sequences per step  [default: 32]")
@click.option("--lr", type=float, default=None, help="Peak learning rate (AdamW, warm-up + cosine)  [default: 1e-2]")
@click.option("--eval-sequences", type=int, default=None, help="Held-out sequences scored per cell  [default: 128]")
@click.option("--seed", type=int, default=None, help="Seed of data and initialisation  [default: 0]")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, help="[default: cuda if available]")
@click.option("--lstm-impl", type=click.Choice(["auto", "torch", "triton", "cudnn"]), default=None,
              help="LSTM implementation (model.ops)  [default: auto]")
@click.option("--threads", type=int, default=1, show_default=True,
              help="torch CPU threads (0 = torch's default); small models run best on one")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML/TOML file with RecurrenceConfig keys (options override it)")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Config override, e.g. --set frjt.k_max=4 --set maze.mode=shown (repeatable)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for results.json, results.csv, accuracy.png  [default: recurrence-<task>]")
def recurrence(task, n_list, backbones, layers, steps, hidden, heads, batch, lr, eval_sequences, seed,
               device, lstm_impl, threads, config_path, overrides, out_dir) -> None:
    """Train each backbone on streams of each size n; print held-out accuracy against n.

    \b
    Example (CPU, a few minutes):
      sessionforge bench recurrence --task frjt --n 16,64,256 --backbone lstm,transformer
    n = 10,000 is meant for a GPU (--device cuda).
    """
    import torch
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sessionforge.config import load_config, to_dict
    from sessionforge.tasks.results import print_table, write_benchmark_results
    from sessionforge.tasks.runner import RecurrenceConfig, run_benchmark

    sets = list(overrides)
    for key, value in (("task", task), ("steps", steps), ("hidden", hidden), ("heads", heads),
                       ("batch", batch), ("lr", lr), ("eval_sequences", eval_sequences), ("seed", seed),
                       ("device", device), ("lstm_impl", lstm_impl)):
        if value is not None:
            sets.append(f"{key}={value}")
    for key, value in (("n", _int_list(n_list, "--n")), ("layers", _int_list(layers, "--layers"))):
        if value is not None:
            sets.append(f"{key}=[{', '.join(map(str, value))}]")
    if backbones is not None:
        names = [b.strip() for b in backbones.split(",") if b.strip()]
        sets.append(f"backbones=[{', '.join(names)}]")
    if device is None and not any(s.startswith("device=") for s in sets) and torch.cuda.is_available():
        sets.append("device=cuda")
    cfg = load_config(RecurrenceConfig, config_path, sets)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise SessionforgeError("--device cuda given but CUDA is not available here")
    if threads > 0:
        torch.set_num_threads(threads)

    total = len(cfg.n) * len(cfg.backbones) * cfg.steps
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as bar:
        job = bar.add_task("training", total=total)

        def progress(label: str, step: int, loss: float) -> None:
            bar.update(job, advance=1, description=f"{label} step {step + 1} loss {loss:.3f}")

        results = run_benchmark(cfg, progress)
    print_table(results, title=f"{cfg.task}: held-out accuracy ({cfg.steps} steps)")
    out = Path(out_dir) if out_dir else Path(f"recurrence-{cfg.task}")
    for path in write_benchmark_results(results, to_dict(cfg), out):
        click.echo(f"wrote {path}")
