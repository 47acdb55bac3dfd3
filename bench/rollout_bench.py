"""Closed-loop rollout speed on a CPU: keys per second, split into model, editor, terminal,
snapshot and shard-writer time (DESIGN.md section 7: >= 200 keys/s with configs/debug.yaml).

    python bench/rollout_bench.py                         # this repository's oldest 20 commits, debug model
    python bench/rollout_bench.py --run RUN --data DATA   # an existing run and the dataset it reads

Without ``--run``/``--data`` the script builds a 48x160 dataset from ``--repo`` (default:
this repository, its oldest ``--max-commits`` commits) and trains ``configs/debug.yaml`` on
it for ``--steps`` steps in a temporary folder (``--workdir`` keeps them). Then, at
``--points`` seeded (session, frame) points, the model rolls out ``--keys`` keys exactly as
``sessionforge rollout`` does (live editor rebuilt by replay, the run's window of context,
temperature 1, the frames written to a shard), twice: with the incremental frame head (the
default) and with the model's whole frame head on every frame (the baseline, same run).
Times are CPU seconds of the process (``time.process_time``); wall seconds are printed
beside them, since a busy machine inflates those. ``--json OUT`` writes every row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("model", "editor", "terminal", "snapshot", "write")


def _sf(*args: str) -> None:
    """Run the CLI as a subprocess (its output shows what it is doing)."""
    subprocess.run([sys.executable, "-c", "from sessionforge.cli import main; main()", *args], check=True)


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    """(run, data): the given ones, or a dataset built from --repo and the debug model trained on it."""
    if args.run and args.data:
        return Path(args.run), Path(args.data)
    data, run = work / "data", work / "run"
    if not (data / "dataset.json").exists():
        _sf("build-dataset", args.repo, "--out", str(data), "--max-commits", str(args.max_commits),
            "--split-ratio", "val=0,test=0", "--codec", "zstd")
    if not (run / "checkpoints").exists():
        _sf("train", "--config", str(ROOT / "configs" / "debug.yaml"), "--data", str(data), "--out", str(run),
            "--set", f"train.steps={args.steps}", "--no-progress")
    return run, data


def measure(args: argparse.Namespace, run: Path, data: Path, work: Path) -> list[dict]:
    import numpy as np
    import torch

    from sessionforge.commands.eval import _load_run, _model_and_settings
    from sessionforge.dataset import read_dataset
    from sessionforge.formats import ShardWriter, open_shard
    from sessionforge.rollout.points import point_of_row
    from sessionforge.rollout.rebuild import open_slice
    from sessionforge.rollout.runner import ModelRun, Settings, rollout_point

    ckpt, cfg, tok = _load_run(run, None)
    model, _ = _model_and_settings(ckpt, cfg, tok, torch.device("cpu"), frames=1, seed=0, batch=1)
    model.eval()
    mrun = ModelRun(model, tok, window=cfg.train.window, chunk=cfg.train.chunk)
    tables = read_dataset(data)
    rows = [r for r in tables.manifest.iter_rows(named=True) if r["frames"] > args.keys + 1]
    rng = np.random.default_rng(args.seed)
    points = []
    for k in rng.choice(len(rows), size=args.points):
        row = rows[int(k)]
        points.append(point_of_row(tables.root, row, int(rng.integers(0, row["frames"] - 1 - args.keys))))
    out = []
    for point in points:
        source = open_slice(tables.root, tables.doc, tables.manifest, point)
        for incremental in (True, False):
            settings = Settings(keys=args.keys, seed=args.seed, incremental=incremental)
            with open_shard(point.shard) as reader, ShardWriter(work / "bench.tss", rows=cfg.model.rows,
                                                                cols=cfg.model.cols, codec="zstd") as w:
                w.begin_session({"bench": True}, reader.sessions[point.index].palette)
                t0 = time.perf_counter()
                rep = rollout_point(mrun, source, reader, point, settings, out=w)
                w.end_session()
            m = rep["policies"]["model"]
            out.append({"point": point.label(), "incremental": incremental, "keys": m["frames"],
                        "cpu": m["cpu"], "wall": m["wall_seconds"], "keys_per_cpu_second": m["keys_per_cpu_second"],
                        "keys_per_wall_second": round(m["frames"] / m["wall_seconds"], 1),
                        "frame_head": rep["frame_head"], "point_seconds": round(time.perf_counter() - t0, 2)})
            print(f"{point.label()} {'incremental' if incremental else 'whole head '}: "
                  f"{out[-1]['keys_per_cpu_second']:8.1f} keys/CPU-s {out[-1]['keys_per_wall_second']:8.1f} keys/s wall",
                  file=sys.stderr)
    return out


def table(rows: list[dict]) -> str:
    lines = ["| frame head | keys | " + " | ".join(f"{s} ms/key" for s in STAGES)
             + " | keys per CPU-s | keys per wall-s |", "| --- " * (len(STAGES) + 4) + "|"]
    for incremental in (True, False):
        sel = [r for r in rows if r["incremental"] == incremental]
        keys = sum(r["keys"] for r in sel)
        cpu = {s: sum(r["cpu"][s] for r in sel) for s in STAGES}
        total, wall = sum(cpu.values()), sum(r["wall"] for r in sel)
        lines.append(f"| {'incremental' if incremental else 'whole (baseline)'} | {keys} | "
                     + " | ".join(f"{cpu[s] / keys * 1e3:.3f}" for s in STAGES)
                     + f" | {keys / total:,.0f} | {keys / wall:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a trained run (with --data)")
    ap.add_argument("--data", help="the dataset the run reads (with --run)")
    ap.add_argument("--repo", default=str(ROOT), help="repository to build the dataset from (no --run/--data)")
    ap.add_argument("--max-commits", type=int, default=20)
    ap.add_argument("--steps", type=int, default=30, help="training steps of the debug model")
    ap.add_argument("--points", type=int, default=3)
    ap.add_argument("--keys", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="keep the dataset and run here (default: a temporary folder)")
    ap.add_argument("--json", help="write every row as JSON here")
    args = ap.parse_args()
    if bool(args.run) != bool(args.data):
        ap.error("give --run and --data together")
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        run, data = prepare(args, work)
        rows = measure(args, run, data, work)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "args": vars(args)}, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
