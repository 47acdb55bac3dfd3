"""Build scaling: frames/s of ``build-dataset`` with 1 and 2 worker processes on the same inputs.

    .venv/bin/python bench/build_bench.py                     # 4 generated repos x 16 commits
    .venv/bin/python bench/build_bench.py --repos 8 --commits 120 --workers 1 2 4 --json bench/out/build.json
    .venv/bin/python bench/build_bench.py --input ~/src/somerepo --slice-commits 50

Baseline (same run): the in-process ``local`` executor. For each worker count it builds the
same inputs into a fresh folder with the ``process`` executor and reports replay frames/s
(replay phase wall time; planning and pool start-up reported separately), the speed-up over
1 worker and the scaling efficiency (speed-up / workers; target: 2 workers >= 1.8x). It also
checks that every build wrote byte-identical shards. CPU seconds (the workers' own, from
getrusage) and frames per CPU-second separate the cost of parallelism from contention: on
a machine whose cores are busy with other work, wall-clock speed-up cannot show scaling,
but equal frames per CPU-second for 1 and 2 workers shows the build adds no overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # gitfactory: generated repositories


def make_inputs(root: Path, repos: int, commits: int) -> list[str]:
    from gitfactory import make_synthetic_history

    paths = []
    for i in range(repos):
        p = root / f"repo{i}"
        make_synthetic_history(p, commits=commits, seed=i)
        paths.append(str(p))
    return paths


def shard_digests(out: Path) -> dict[str, str]:
    doc = json.loads((out / "dataset.json").read_text())
    return {name: s["sha256"] for name, s in doc["shards"].items()}


def run_build(inputs: list[str], out: Path, executor: str, workers: int, args: argparse.Namespace) -> dict:
    from sessionforge.pipeline.config import BuildConfig
    from sessionforge.pipeline.runner import build_dataset

    cfg = BuildConfig()
    cfg.replay.session_frames = args.session_frames
    cfg.slice_commits = args.slice_commits
    cfg.codec = args.codec
    cfg.run.executor = executor
    cfg.run.workers = workers
    shutil.rmtree(out, ignore_errors=True)
    who = resource.RUSAGE_SELF if executor == "local" else resource.RUSAGE_CHILDREN
    r0 = resource.getrusage(who)
    t0 = time.perf_counter()
    res = build_dataset(inputs, out, cfg)   # the pool's workers have exited (and been counted) on return
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(who)
    if res.failed:  # a speed measured over failed tasks would mean nothing
        import polars as pl

        errors = pl.read_parquet(out / "errors.parquet").head(3).to_dicts()
        sys.exit(f"{executor} x{workers}: {res.failed} repositories failed, e.g. {errors}")
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    t = res.doc["totals"]
    return {"executor": executor, "workers": workers, "frames": t["frames"], "sessions": t["sessions"],
            "tasks": res.doc["build"]["slices_total"], "failed": t["repositories_failed"],
            "replay_s": round(res.seconds, 3), "wall_s": round(wall, 3),
            "frames_per_s": round(t["frames"] / res.seconds, 1), "bytes_per_frame": t["bytes_per_frame"],
            "cpu_s": round(cpu, 2), "frames_per_cpu_s": round(t["frames"] / cpu, 1) if cpu > 0 else None,
            "digests": shard_digests(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", nargs="*", help="Repositories to build (default: generated ones).")
    ap.add_argument("--repos", type=int, default=4, help="Generated repositories.")
    ap.add_argument("--commits", type=int, default=16, help="Commits per generated repository.")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--slice-commits", type=int, default=4, help="Commits per task (more tasks balance better).")
    ap.add_argument("--session-frames", type=int, default=100_000)
    ap.add_argument("--codec", default="xz", choices=["xz", "zstd"])
    ap.add_argument("--json", type=Path, help="Write the results here.")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="build_bench-"))
    try:
        inputs = args.input or make_inputs(tmp / "repos", args.repos, args.commits)
        load = os.getloadavg()
        rows = [run_build(inputs, tmp / "out-local", "local", 1, args)]
        for w in args.workers:
            rows.append(run_build(inputs, tmp / f"out-p{w}", "process", w, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = next((r for r in rows if r["executor"] == "process" and r["workers"] == 1), rows[0])
    identical = all(r["digests"] == rows[0]["digests"] for r in rows)
    print(f"inputs: {len(inputs)} repositories, {rows[0]['tasks']} tasks, {rows[0]['frames']:,} frames; "
          f"cpus: {os.cpu_count()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'executor':<10}{'workers':>8}{'replay s':>10}{'wall s':>9}{'frames/s':>11}{'speed-up':>10}"
          f"{'efficiency':>12}{'cpu s':>9}{'frames/cpu-s':>14}")
    for r in rows:
        r["speedup"] = round(r["frames_per_s"] / base["frames_per_s"], 3)
        r["efficiency"] = round(r["speedup"] / r["workers"], 3)
        print(f"{r['executor']:<10}{r['workers']:>8}{r['replay_s']:>10.2f}{r['wall_s']:>9.2f}"
              f"{r['frames_per_s']:>11,.0f}{r['speedup']:>9.2f}x{r['efficiency']:>12.2f}"
              f"{r['cpu_s']:>9.1f}{r['frames_per_cpu_s'] or 0:>14,.0f}")
    print(f"byte-identical shards across all builds: {identical}; bytes/frame {rows[0]['bytes_per_frame']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        for r in rows:
            r.pop("digests")
        args.json.write_text(json.dumps({"rows": rows, "identical": identical, "load_before": load,
                                         "cpus": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()}},
                                        indent=1))
    if not identical:
        sys.exit("shards differ between builds: determinism is broken")


if __name__ == "__main__":
    main()
