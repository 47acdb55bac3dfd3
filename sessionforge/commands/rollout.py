"""``sessionforge rollout``: a trained model types into the live editor, from a recorded frame on.

Like ``eval``, this module is where ``rollout`` meets ``train``: it loads the run's
checkpoint, config and tokenizer with ``eval``'s helpers (which use
:mod:`sessionforge.train.checkpoint`) and hands the model to
:func:`sessionforge.rollout.runner.rollout_point` (nothing outside the commands imports ``train``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sessionforge.errors import SessionforgeError


class RolloutArgsError(SessionforgeError):
    """The command line asks for something rollout cannot do."""


@click.command("rollout")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="The finished dataset folder the session comes from (its manifest says how to rebuild it).")
@click.option("--session", default=None, metavar="ID", help="Manifest id (or row number) of the session to continue.")
@click.option("--at", "frame", type=int, default=None, metavar="FRAME", help="Hand over to the model after this frame.")
@click.option("--keys", default=200, show_default=True, help="Frames the model makes (one key, or none, per frame).")
@click.option("--temperature", default=1.0, show_default=True, help="Sampling temperature (0: greedy).")
@click.option("--top-k", default=0, show_default=True, help="Sample among the K most likely tokens (0: all).")
@click.option("--seed", default=0, show_default=True, help="Seeds the sampling (and which points --runs draws).")
@click.option("--checkpoint", "step", type=int, default=None, help="Checkpoint step to load (default: the latest).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The rollout shard (OUT.tss) and, for one point, its asciicast (OUT.cast).")
@click.option("--runs", type=int, default=None, metavar="R",
              help="Instead of --session/--at: R points drawn (seeded) from the val split; the table averages them.")
@click.option("--compare", default=32, show_default=True, metavar="K", help="Token agreement over the first K keys.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every number as JSON to this file.")
@click.option("--lead", default=3.0, show_default=True, help="Seconds of the recording the cast shows before the hand-over.")
@click.option("--fps", default=30.0, show_default=True, help="Frames per second of the cast.")
@click.option("--baseline-data", type=click.Path(path_type=Path), default=None,
              help="Fit the 4-gram on this dataset's train split instead of DATA's (e.g. the training data, when "
                   "DATA holds only later history).")
@click.option("--no-baselines", is_flag=True, help="Only the model (no recorded-keys self-check, no 4-gram).")
@click.option("--no-incremental", is_flag=True,
              help="Run the model's whole frame head on every frame (slower; the same numbers up to rounding).")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check of the dataset's shards against dataset.json.")
@click.option("--force", is_flag=True, help="Replace existing output files.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(run: Path, data: Path, session: str | None, frame: int | None, keys: int, temperature: float,
            top_k: int, seed: int, step: int | None, out: Path | None, runs: int | None, compare: int,
            json_out: Path | None, lead: float, fps: float, baseline_data: Path | None, no_baselines: bool,
            no_incremental: bool,
            no_verify: bool, force: bool, no_progress: bool) -> None:
    """Rebuild the editor and terminal of a recorded session at frame FRAME (by replaying its
    slice again), let RUN's model type N keys into them, and compare with what the programmer
    typed: token agreement, keys before the first divergence, and the edit distance of the
    files, beside the recorded keys (a self-check: distance 0) and the 4-gram sampling blind.

    \b
    Examples:
      sessionforge rollout runs/debug --data DATA --session ID --at 500 --keys 300 -o roll/x.tss
      asciinema play roll/x.cast        # the recording, then the model from the marker on
      sessionforge rollout runs/debug --data DATA --runs 20 --keys 200 --seed 1 --json roll.json
    """
    import torch
    from rich.console import Console

    from sessionforge.commands.eval import _load_run, _model_and_settings, _progress, _step_of
    from sessionforge.files import write_json_atomic
    from sessionforge.rollout import report as rep
    from sessionforge.rollout.runner import ModelRun, Settings, self_check_problems

    _check_args(session, frame, keys, temperature, top_k, runs, compare, lead, fps, out)
    shard_out, cast_out = _outputs(out, single=runs is None, force=force)
    err = Console(stderr=True)
    ckpt, cfg, tok = _load_run(run, step)
    tables, shards = _load_dataset(data, verify=not no_verify, console=err)
    mc = cfg.model
    if (shards.rows, shards.cols) != (mc.rows, mc.cols):
        raise RolloutArgsError(f"{ckpt}: the model reads {mc.rows}x{mc.cols} frames, but {data}'s sessions are "
                               f"{shards.rows}x{shards.cols}: roll out on data of the size it was trained on")
    points = _points(tables, shards, session, frame, runs, keys, seed)  # a bad point is refused before any work
    _check_vocab(ckpt, tok.vocab_size)
    model, es = _model_and_settings(ckpt, cfg, tok, torch.device("cpu"), frames=1, seed=seed, batch=1)
    model.eval()
    ngram = None
    if not no_baselines:
        base_tables, base_shards = ((tables, shards) if baseline_data is None else
                                    _load_dataset(baseline_data, verify=not no_verify, console=err))
        ngram = _fit_ngram(base_shards, base_tables.manifest, tok, es)
    mrun = ModelRun(model, tok, window=cfg.train.window, chunk=cfg.train.chunk, ngram=ngram)
    settings = Settings(keys=keys, temperature=temperature, top_k=top_k, seed=seed, compare=compare,
                        incremental=not no_incremental)
    sampling = {"policy": "model", "keys": keys, "temperature": temperature, "top_k": top_k, "seed": seed,
                "context_window": cfg.train.window, "incremental_frame_head": not no_incremental}
    reports = _roll(mrun, tables, points, settings, shard_out, str(data), str(run), ckpt, sampling,
                    progress=_progress(err, enabled=not no_progress and len(points) > 1))
    if cast_out is not None and shard_out is not None:
        from sessionforge.formats import open_shard
        from sessionforge.rollout.output import write_cast

        with open_shard(points[0].shard) as src:
            write_cast(src, points[0], shard_out, cast_out, lead=lead, fps=fps, label=f"step {_step_of(ckpt)}")
    report: dict[str, Any] = {
        "run": str(run), "checkpoint": str(ckpt), "step": _step_of(ckpt), "data": str(data),
        "settings": {**sampling, "compare": compare, "runs": runs, "baselines": not no_baselines,
                     "baseline_data": None if no_baselines else str(baseline_data or data)},
        "summary": rep.summarize(reports), "points": reports,
    }
    problems = [p for r in reports for p in self_check_problems(r)]
    report["self_check"] = {"ok": not problems, "problems": problems} if not no_baselines else None
    Console().print(rep.render_table(report))
    for path in (shard_out, cast_out):
        if path is not None:
            err.print(f"wrote {path}")
    if json_out is not None:
        write_json_atomic(json_out, report)
        err.print(f"wrote {json_out}")
    if problems:
        for p in problems:
            err.print(f"[bold red]self-check failed:[/] {p}")
        raise SystemExit(3)


def _check_args(session: str | None, frame: int | None, keys: int, temperature: float, top_k: int,
                runs: int | None, compare: int, lead: float, fps: float, out: Path | None) -> None:
    if keys < 1:
        raise RolloutArgsError(f"--keys {keys}: must be >= 1")
    if temperature < 0 or top_k < 0:
        raise RolloutArgsError("--temperature and --top-k must be >= 0")
    if compare < 1 or lead < 0 or fps <= 0:
        raise RolloutArgsError("--compare must be >= 1, --lead >= 0 and --fps > 0")
    if runs is None:
        if session is None or frame is None:
            raise RolloutArgsError("give --session ID and --at FRAME (or --runs R to draw points from the val split)")
        if out is None:
            raise RolloutArgsError("give -o OUT: the rollout is written as OUT.tss and OUT.cast")
    else:
        if runs < 1:
            raise RolloutArgsError(f"--runs {runs}: must be >= 1")
        if session is not None or frame is not None:
            raise RolloutArgsError("--runs draws its own points: leave out --session and --at")


def _outputs(out: Path | None, *, single: bool, force: bool) -> tuple[Path | None, Path | None]:
    """(shard path, cast path); refuses files that exist unless ``force``."""
    if out is None:
        return None, None
    shard = out if out.suffix == ".tss" else out.with_name(out.name + ".tss")
    cast = shard.with_suffix(".cast") if single else None
    for p in (shard, cast):
        if p is not None and p.exists() and not force:
            raise RolloutArgsError(f"{p} exists (--force replaces it)")
    return shard, cast


def _load_dataset(data: Path, *, verify: bool, console: Any):
    """(DatasetTables, ShardSet) of a finished dataset folder, its shards checked unless told not to."""
    from sessionforge.dataset import ShardSet, read_dataset, require_intact

    if not data.is_dir():
        raise RolloutArgsError(f"{data}: give a dataset folder (its manifest says which repository and slice "
                               "each session was replayed from), not a shard file")
    tables = read_dataset(data)
    if verify:
        with console.status(f"checking {data}'s shards against dataset.json"):
            require_intact(tables)
    return tables, ShardSet(data)


def _check_vocab(ckpt: Path, vocab: int) -> None:
    """The checkpoint's tokenizer must have as many tokens as its model's action head predicts."""
    from safetensors import safe_open

    with safe_open(str(ckpt / "model.safetensors"), "pt") as f:
        shape = f.get_slice("head.weight").get_shape() if "head.weight" in f.keys() else None
    if shape is not None and int(shape[0]) != vocab:
        raise RolloutArgsError(f"{ckpt}: its tokenizer has {vocab} tokens but its model's action head predicts "
                               f"{int(shape[0])}: the checkpoint's tokenizer.json does not belong to its weights")


def _fit_ngram(shards: Any, manifest: Any, tok: Any, es: Any) -> Any:
    from sessionforge.dataset.splits import select_split
    from sessionforge.evaluate.runner import fit_baselines

    try:
        return fit_baselines(shards, select_split(shards, manifest, "train"), tok, es)[1]
    except SessionforgeError as exc:
        raise RolloutArgsError(f"the 4-gram baseline is fitted on the train split: {exc} (--baseline-data names "
                               "another dataset; --no-baselines skips the baselines)") from None


def _points(tables: Any, shards: Any, session: str | None, frame: int | None, runs: int | None, keys: int,
            seed: int) -> list:
    from sessionforge.rollout.points import draw_points, manifest_point

    if runs is None:
        assert session is not None and frame is not None
        return [manifest_point(tables.root, tables.manifest, session, frame)]
    return draw_points(tables.root, tables.manifest, shards, runs, keys, seed)


def _roll(mrun: Any, tables: Any, points: list, settings: Any, shard_out: Path | None, data: str, run: str,
          ckpt: Path, sampling: dict[str, Any], progress: Any) -> list[dict[str, Any]]:
    """Roll out every point (writing the model's frames into ``shard_out``, one session each)."""
    from contextlib import ExitStack

    from sessionforge.formats import ShardWriter, open_shard
    from sessionforge.rollout.output import rollout_end_meta, rollout_meta
    from sessionforge.rollout.rebuild import open_slice
    from sessionforge.rollout.runner import rollout_point

    reports = []
    with ExitStack() as stack:
        stack.enter_context(progress)
        writer = None
        if shard_out is not None:
            shard_out.parent.mkdir(parents=True, exist_ok=True)
            writer = stack.enter_context(ShardWriter(shard_out, rows=mrun.model.cfg.rows, cols=mrun.model.cfg.cols,
                                                     codec="zstd"))
        sources: dict[tuple[str, int], Any] = {}  # one history walk per slice, however many points it holds
        for k, point in enumerate(points):
            key = (point.repository, point.slice)
            if key not in sources:
                sources[key] = open_slice(tables.root, tables.doc, tables.manifest, point)
            source = sources[key]
            with open_shard(point.shard) as reader:
                info = reader.sessions[point.index]
                if writer is not None:
                    writer.begin_session(rollout_meta(point, info.meta, data, run, str(ckpt), _step(ckpt), sampling),
                                         info.palette)
                    rec = reader.read_frames(point.index, point.frame, point.frame + 1)
                    cur = rec.cursor[0]
                    writer.add_frame(rec.chars[0], rec.fg[0], rec.bg[0], rec.attrs[0],
                                     (int(cur[0]), int(cur[1]), bool(cur[2])), b"", None)  # the hand-over frame
                report = rollout_point(mrun, source, reader, point, settings, stream=k, out=writer)
                if writer is not None:
                    writer.end_session(rollout_end_meta(report))
            reports.append(report)
            progress("rolling out", k + 1, len(points))
    return reports


def _step(ckpt: Path) -> int:
    from sessionforge.commands.eval import _step_of

    return _step_of(ckpt)
