"""``sessionforge train``: train an FBAM model on termstream shards (streaming BPTT)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sessionforge.errors import ConfigError

# Kept in step with sessionforge.train.run.SAFE_ON_RESUME (a test checks): the help must not import torch.
SAFE_ON_RESUME_HELP = ("train.steps, train.log_every, train.tensorboard,\n"
                       "  train.checkpoint_every, train.keep_checkpoints,\n"
                       "  train.eval_every, train.eval_windows")

EPILOG = f"""\b
Run folders: --out holds one run. A folder that already holds one is refused
unless --resume (continue it) or --overwrite (delete it, start over) is given.
On --resume the config must equal the saved one except for these keys:
  {SAFE_ON_RESUME_HELP}

\b
Data: a dataset folder must be a finished dataset (dataset.json present), and
its shards must have the sizes and sha256 dataset.json records: checked before
training, remembered in OUT/dataset-check.json so a resume does not hash again
(--no-verify: sizes only). Shard files given directly are used as they are
(no dataset.json to check them against; blocks are still checksummed as read).

\b
Splits: --split train (the default) trains on the sessions the manifest puts
in train (by repository); data without splits (shard files, datasets built
before splits) is all train. --set train.eval_every=N logs the loss on
train.eval_windows fixed windows of the val sessions (of --val-data, else of
--data) every N steps, as val_loss rows of metrics.jsonl."""


@click.command("train", epilog=EPILOG)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Run config (YAML/TOML), e.g. configs/debug.yaml. With --resume, defaults to RUN/config.yaml.")
@click.option("--data", "data", multiple=True, required=True,
              help="Finished dataset folder or URL (s3://...; the shards its dataset.json lists) or shard file; "
                   "repeatable.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's shards are fetched and checked [~/.cache/sessionforge/datasets].")
@click.option("--split", "split", type=click.Choice(["train", "val", "test", "all"]), default=None,
              help="Sessions to train on, by the manifest's split column [train]. Same as --set train.split=...")
@click.option("--val-data", "val_data", multiple=True,
              help="Validate (train.eval_every) on this dataset's val sessions instead of --data's, e.g. later "
                   "commits of the same repositories; repeatable.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: config.yaml, tokenizer.json, metrics.jsonl, checkpoints/.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.window=256 --set model.integrator.lstm_impl=torch.")
@click.option("--tokenizer", "tokenizer", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Action tokenizer file (sessionforge tokenizer build); default: built from the data. "
                   "Same as --set tokenizer.path=FILE.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its newest checkpoint.")
@click.option("--overwrite", is_flag=True, help="Delete the run already in --out, then start a new one.")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check of the shards against dataset.json.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs go to metrics.jsonl either way).")
def command(config_path: Path | None, data: tuple[str, ...], cache_dir: str | None, split: str | None,
            val_data: tuple[str, ...], out: Path, overrides: tuple[str, ...], tokenizer: Path | None, resume: bool,
            overwrite: bool, no_verify: bool, no_progress: bool) -> None:
    """Train an FBAM model (frame head -> LSTM -> action tokens) on a dataset.

    \b
    Examples:
      sessionforge train --config configs/debug.yaml --data DATA --out runs/debug
      sessionforge train --config configs/fbam-base.yaml --data DATA --out runs/base \\
          --set train.window=4096 --set train.batch=16
      torchrun --nproc-per-node 8 -m sessionforge.cli train --config configs/fbam-base.yaml ...
      sessionforge train --data DATA --out runs/debug --resume --set train.steps=200
      sessionforge train --config configs/cpu-experiment.yaml --data OLDER --val-data LATER \\
          --set train.eval_every=100 --out runs/cpu
    """
    from sessionforge.config import load_config
    from sessionforge.train.config import TrainConfig

    if config_path is None:
        if not resume:
            raise ConfigError("--config is required (e.g. --config configs/debug.yaml) unless --resume is given")
        config_path = out / "config.yaml"
    named = {"tokenizer.path": ("--tokenizer", str(tokenizer) if tokenizer is not None else None),
             "train.split": ("--split", split)}
    cfg = load_config(TrainConfig, config_path, list(overrides), named=named)
    from sessionforge.dataset.remote import local_dataset

    # A URL's shards are all fetched (4 at a time) and checked before the first step, so no
    # training step ever waits on the network; paths are used as they are.
    local = tuple(local_dataset(d, cache_dir) for d in data)
    local_val = tuple(local_dataset(d, cache_dir) for d in val_data)
    for flag, items in (("--data", local), ("--val-data", local_val)):
        for d in items:
            if not d.exists():
                raise ConfigError(f"{flag} {d}: no such dataset folder or shard file")
    _run(cfg, local, out, resume=resume, overwrite=overwrite, verify=not no_verify, progress=not no_progress,
         val_data=local_val or None)


def _run(cfg, data: tuple[Path, ...], out: Path, *, resume: bool, overwrite: bool, verify: bool,
         progress: bool, val_data: tuple[Path, ...] | None = None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from sessionforge.train.loop import train
    from sessionforge.train.summary import summary_line

    # Under torchrun every rank runs this; only rank 0 draws the bar and prints.
    lead = int(os.environ.get("RANK", "0")) == 0
    console = Console(stderr=True, quiet=not lead, soft_wrap=True)  # soft_wrap: the summary stays one line
    if not verify:
        console.print("warning: --no-verify: the shards are not checked against the sha256 in dataset.json",
                      markup=False, highlight=False)
    bar = Progress(
        TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=not (progress and lead),
    )
    task = bar.add_task("train", total=cfg.train.steps, loss="-")
    with bar:
        result = train(
            cfg, list(data), out, resume=resume, overwrite=overwrite, verify=verify,
            val_data=list(val_data) if val_data else None,
            on_start=lambda step, total: bar.update(task, completed=step, total=total),
            on_step=lambda step, loss: bar.update(task, completed=step, loss=f"{loss:.4f}"),
        )
    console.print(summary_line(result), markup=False, highlight=False)
