"""``sessionforge eval``: a trained run on held-out frames, beside a unigram and an n-gram baseline.

This module is the one place where ``evaluate`` meets ``train``: it reads the run's
checkpoint with :mod:`sessionforge.train.checkpoint`, its config as
:class:`~sessionforge.train.config.TrainConfig`, and hands training's chunk loss and carry
rule to :func:`sessionforge.evaluate.runner.evaluate` (nothing outside the commands imports
``train``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from sessionforge.errors import SessionforgeError


class EvalError(SessionforgeError):
    """The run, checkpoint or data cannot be evaluated as asked."""


@click.command("eval")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", required=True,
              help="A finished dataset folder or URL (its manifest's split column picks the sessions), or a shard file.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
@click.option("--baseline-data", default=None,
              help="Fit the baselines on this dataset's train split instead of DATA's (e.g. the training "
                   "dataset, when DATA holds only later, held-out history).")
@click.option("--checkpoint", "step", type=int, default=None, help="Checkpoint step to load (default: the latest).")
@click.option("--split", default="val", show_default=True, help="Sessions to score: train, val or test.")
@click.option("--frames", default=16384, show_default=True, help="Score at most this many frames (whole windows).")
@click.option("--seed", default=0, show_default=True, help="Picks which windows are scored.")
@click.option("--batch", type=int, default=None, help="Windows scored side by side (default: the run's train.batch).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the numbers as JSON to this file.")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check of the dataset's shards against dataset.json.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(run: Path, data: str, cache_dir: str | None, baseline_data: str | None, step: int | None, split: str, frames: int, seed: int, batch: int | None,
            device: str, json_out: Path | None, no_verify: bool, no_progress: bool) -> None:
    """Score RUN's model on up to --frames frames of the --split sessions of DATA, beside an add-one
    unigram and a 4-gram fitted on the train split's actions: cross-entropy per action token, bits
    per action byte, top-1/top-5 accuracy, loss by position in the window and by action class.

    \b
    Examples:
      sessionforge eval runs/debug --data DATA                      # latest checkpoint, val split
      sessionforge eval runs/debug --data DATA --checkpoint 20 --split test --frames 65536 --json eval.json
    """
    import torch
    from rich.console import Console

    from sessionforge.evaluate.metrics import render_table
    from sessionforge.files import write_json_atomic

    if frames < 1 or (batch is not None and batch < 1):
        raise EvalError("--frames and --batch must be >= 1")
    err = Console(stderr=True)
    ckpt, cfg, tok = _load_run(run, step)
    dev = torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EvalError("--device cuda: no CUDA device is available")
    from sessionforge.dataset.remote import local_dataset

    shards, manifest = _load_data(local_dataset(data, cache_dir), verify=not no_verify, console=err)
    shards.check_frame_size(cfg.model.rows, cfg.model.cols)
    model, settings = _model_and_settings(ckpt, cfg, tok, dev, frames=frames, seed=seed, batch=batch)

    from sessionforge.dataset.splits import select_split
    from sessionforge.evaluate.runner import evaluate
    from sessionforge.train.bptt import chunk_loss  # training's own loss, so eval computes it the same way

    eval_sessions = select_split(shards, manifest, split)
    base_shards, base_manifest = shards, manifest
    if baseline_data is not None:
        base_shards, base_manifest = _load_data(local_dataset(baseline_data, cache_dir), verify=not no_verify,
                                                console=err)
        base_shards.check_frame_size(cfg.model.rows, cfg.model.cols)
    try:
        train_sessions = select_split(base_shards, base_manifest, "train")
    except SessionforgeError as exc:
        raise EvalError(f"the baselines are fitted on the train split: {exc}") from None
    if split == "train":
        err.print("[bold yellow]warning:[/] evaluating on the train split: the model was trained on these sessions "
                  "and the baselines are fitted on them, so none of these numbers are held out")
    t0 = time.perf_counter()
    with _progress(err, enabled=not no_progress) as on_progress:
        result = evaluate(model, tok, shards, eval_sessions, train_sessions, settings, chunk_loss,
                          split=split, progress=on_progress, baseline_shards=base_shards)
    report: dict[str, Any] = {
        "run": str(run), "checkpoint": str(ckpt), "step": _step_of(ckpt), "data": str(data),
        "baseline_data": str(baseline_data or data),
        "held_out": split != "train", "device": str(dev), "batch": settings.batch,
        "seconds": round(time.perf_counter() - t0, 3), **result.report,
    }
    Console().print(render_table(report))
    if report["held_out"] is False:
        err.print("[bold yellow]warning:[/] in-sample numbers (--split train)")
    if json_out is not None:
        write_json_atomic(json_out, report)
        err.print(f"wrote {json_out}")


def _step_of(ckpt: Path) -> int:
    from sessionforge.train.checkpoint import step_of

    return step_of(ckpt)


def _load_run(run: Path, step: int | None):
    """(checkpoint folder, TrainConfig, tokenizer) of ``run`` at ``step`` (None: the latest)."""
    from sessionforge.config import load_config
    from sessionforge.model.tokenizer import ActionTokenizer
    from sessionforge.train.checkpoint import list_checkpoints, step_of
    from sessionforge.train.config import TrainConfig

    if not run.is_dir():
        raise EvalError(f"{run}: no such run folder (give the --out folder of `sessionforge train`)")
    found = list_checkpoints(run)
    if not found:
        raise EvalError(f"{run}: no checkpoint to evaluate (looked in {run / 'checkpoints'})")
    if step is None:
        ckpt = found[-1]
    else:
        match = [p for p in found if step_of(p) == step]
        if not match:
            have = ", ".join(str(step_of(p)) for p in found)
            raise EvalError(f"{run}: no checkpoint at step {step} (checkpoints at steps: {have})")
        ckpt = match[0]
    # The checkpoint's own config and tokenizer: exactly what its weights were trained with.
    cfg = load_config(TrainConfig, ckpt / "config.yaml")
    tok = ActionTokenizer.load(ckpt / "tokenizer.json")
    return ckpt, cfg, tok


def _load_data(data: Path, *, verify: bool, console):
    """(ShardSet, manifest or None): a finished dataset folder, checked, or a shard file as it is."""
    from sessionforge.dataset import ShardSet, read_dataset, require_intact

    if data.is_dir():
        tables = read_dataset(data)  # refuses an unfinished build
        if verify:
            with console.status(f"checking {data}'s shards against dataset.json"):
                require_intact(tables)
        return ShardSet(data), tables.manifest
    return ShardSet(data), None  # a shard file: no manifest, so every session counts as train


def _model_and_settings(ckpt: Path, cfg, tok, dev, *, frames: int, seed: int, batch: int | None):
    import torch

    from sessionforge.evaluate.runner import EvalSettings
    from sessionforge.model.fbam import FBAM
    from sessionforge.train.checkpoint import load_model
    from sessionforge.train.loop import CARRYABLE

    tc = cfg.train
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)  # the run's choice: tiny models lose to thread sync on busy CPUs
    # Training's precision rule (train/loop.py): fp64 when asked, bf16 autocast on CUDA, else fp32.
    dtype = torch.float64 if tc.precision == "fp64" else torch.float32
    amp = torch.bfloat16 if tc.precision == "bf16" or (tc.precision == "auto" and dev.type == "cuda") else None
    model = FBAM(cfg.model, tok.vocab_size).to(dtype=dtype)  # the run's dtype before loading: no rounding
    load_model(ckpt, model)
    model = model.to(device=dev)
    settings = EvalSettings(
        window=tc.window, stream_windows=tc.stream_windows, chunk=tc.chunk, frame_chunk=tc.frame_chunk,
        batch=batch or tc.batch, carry=tc.carry_state and cfg.model.integrator.kind in CARRYABLE,
        frames=frames, seed=seed, buckets=tc.position_buckets, device=str(dev), autocast_dtype=amp,
    )
    return model, settings


class _progress:
    """A rich progress bar on stderr with one task per phase, as a ``(phase, done, total)`` callback."""

    LABELS = {"targets": "reading targets", "baselines": "fitting baselines", "model": "scoring the model"}

    def __init__(self, console, enabled: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, disable=not enabled)
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(self.LABELS.get(phase, phase), total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def __enter__(self) -> "_progress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)
