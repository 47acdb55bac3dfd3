#!/usr/bin/env python
"""Replay benchmark: git history -> compressed shard, frames/s on one core, by stage.

    python bench/replay_bench.py REPO... [--json OUT] [--max-commits N] [--codec xz|zstd]

REPO is a repository path, or ``synthetic:N`` for a generated history of N commits of
realistic source edits (tests/gitfactory.py, seed 0). For each repository:

1. end to end: ``replay_repository`` into a ``ShardWriter`` with compression inline
   (``threads=False``: one core does git, planning, editor, pyte, snapshot, encode and
   compress); frames/s includes closing the shard. bytes/frame = shard size / frames.
2. the same replay instrumented: wall time split into git (diff + blob decode), editor
   render (``Editor.press``), pyte feed, snapshot, encode+compress (``add_frame`` and
   closing); "plan" is the rest (planner, diff model, pipeline loop, timer overhead).
   The escape bytes fed to pyte are recorded.
3. baseline, same run: those bytes fed key by key into a fresh bare ``pyte.Screen``
   per session (no snapshots, no editor, no git, no shard). ratio = end-to-end time /
   bare pyte time, both in process CPU seconds so a shared machine does not skew it
   (DESIGN section 7 target: <= 1.5, and >= 20,000 frames/s end to end).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyte

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # gitfactory, for synthetic:N

from sessionforge.formats import ShardWriter  # noqa: E402
from sessionforge.formats.compiled import use_compiled  # noqa: E402
from sessionforge.replay import ReplayConfig, list_commits, replay_repository  # noqa: E402
from sessionforge.replay import pipeline  # noqa: E402

STAGES = ("git", "plan", "render", "feed", "snapshot", "encode")


def _resolve(spec: str, tmp: str) -> str:
    if spec.startswith("synthetic:"):
        from gitfactory import make_synthetic_history

        n = int(spec.split(":", 1)[1])
        path = os.path.join(tmp, f"synthetic-{n}")
        make_synthetic_history(path, commits=n, seed=0)
        return path
    return spec


def end_to_end(repo: str, cfg: ReplayConfig, commits: list[str], out: str, codec: str, threads: bool,
               encoder: str = "auto") -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    with ShardWriter(out, rows=cfg.rows, cols=cfg.cols, codec=codec, threads=threads, encoder=encoder) as w:
        stats = replay_repository(repo, cfg, w, commits=commits)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = os.path.getsize(out)
    return {"frames": stats.frames, "files": stats.files, "commits": stats.commits, "seconds": dt,
            "cpu_seconds": cpu, "fps": stats.frames / dt, "cpu_fps": stats.frames / cpu,
            "shard_bytes": size, "bytes_per_frame": size / max(1, stats.frames),
            "lossless_failures": len(stats.lossless_failures), "skipped": stats.skipped}


def instrumented(repo: str, cfg: ReplayConfig, commits: list[str], out: str, codec: str) -> tuple[dict, list]:
    """Stage times (seconds) and the escape bytes fed per session."""
    pc = time.perf_counter
    acc = dict.fromkeys(STAGES, 0.0)
    sessions: list[list[bytes]] = []
    base_ed, base_term, base_reader = pipeline.Editor, pipeline.Terminal, pipeline.ChangeReader

    class TEditor(base_ed):
        def press(self, key):
            t = pc()
            out_ = base_ed.press(self, key)
            acc["render"] += pc() - t
            return out_

    class TTerminal(base_term):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self._log: list[bytes] = []
            sessions.append(self._log)

        def feed(self, data):
            self._log.append(data)
            t = pc()
            base_term.feed(self, data)
            acc["feed"] += pc() - t

        def snapshot(self):
            t = pc()
            spans = base_term.snapshot(self)
            acc["snapshot"] += pc() - t
            return spans

    class TReader(base_reader):
        def read(self, hexid):
            t = pc()
            cc = base_reader.read(self, hexid)
            acc["git"] += pc() - t
            return cc

    class TSink:
        def __init__(self, w):
            self.w = w

        def begin_session(self, meta, palette):
            self.w.begin_session(meta, palette)

        def add_frame(self, *a):
            t = pc()
            self.w.add_frame(*a)
            acc["encode"] += pc() - t

        def end_session(self, extra=None):
            t = pc()
            self.w.end_session(extra)
            acc["encode"] += pc() - t

    pipeline.Editor, pipeline.Terminal, pipeline.ChangeReader = TEditor, TTerminal, TReader
    try:
        t0 = pc()
        w = ShardWriter(out, rows=cfg.rows, cols=cfg.cols, codec=codec, threads=False)
        with w:
            replay_repository(repo, cfg, TSink(w), commits=commits)
            t = pc()
        acc["encode"] += pc() - t   # closing: last block + index
        total = pc() - t0
    finally:
        pipeline.Editor, pipeline.Terminal, pipeline.ChangeReader = base_ed, base_term, base_reader
    acc["plan"] = total - sum(v for k, v in acc.items() if k != "plan")
    acc["total"] = total
    return acc, sessions


def bare_pyte(sessions: list[list[bytes]], rows: int, cols: int) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    frames = nbytes = 0
    for chunks in sessions:
        screen = pyte.Screen(cols, rows)
        stream = pyte.ByteStream(screen)
        feed = stream.feed
        for data in chunks:
            feed(data)
        frames += len(chunks)
        nbytes += sum(map(len, chunks))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": dt, "cpu_seconds": cpu, "frames": frames, "fps": frames / dt if dt else 0.0,
            "cpu_fps": frames / cpu if cpu else 0.0, "bytes_per_key": nbytes / max(1, frames)}


def bench_repo(spec: str, args: argparse.Namespace, tmp: str) -> dict:
    repo = _resolve(spec, tmp)
    rows, cols = (int(x) for x in args.frame_size.split("x"))
    cfg = ReplayConfig(rows=rows, cols=cols, max_commits=args.max_commits)
    if args.no_file_filters:  # type what older versions typed: the same frames, to compare code paths
        cfg.files.enabled = False
    commits = list_commits(repo, cfg)
    out = os.path.join(tmp, "bench.tss")
    compiled = use_compiled(args.encoder, "sessionforge.formats.builder_jit", "encoder")
    if compiled:  # load numba and its cached kernels before timing (once per worker process in a build)
        with ShardWriter(os.path.join(tmp, "warm.tss"), 4, 8, encoder="compiled") as w:
            w.begin_session({}, [0])
            for k in range(3):
                w.add_frame(np.full((4, 8), 65 + k, np.uint32), *np.zeros((3, 4, 8), np.uint8), (0, 0, True), b"")
            w.end_session()
    e2e = end_to_end(repo, cfg, commits, out, args.codec, threads=False, encoder=args.encoder)
    e2e["encoder"] = "compiled" if compiled else "numpy"
    # The baseline of the compiled encoder, in the same run: the numpy one (identical bytes).
    e2e_numpy = end_to_end(repo, cfg, commits, out, args.codec, threads=False, encoder="numpy") if compiled else None
    stages, sessions = instrumented(repo, cfg, commits, out, args.codec)
    bare = bare_pyte(sessions, rows, cols)
    del sessions
    threaded = end_to_end(repo, cfg, commits, out, args.codec, threads=True) if args.threaded else None
    return {"repo": spec, "codec": args.codec, "frame_size": args.frame_size, "end_to_end": e2e,
            "stages_s": stages, "bare_pyte": bare, "ratio_vs_bare_pyte": e2e["cpu_seconds"] / bare["cpu_seconds"],
            "end_to_end_threaded": threaded, "end_to_end_numpy_encoder": e2e_numpy}


def print_table(results: list[dict]) -> None:
    head = (f"{'repo':<22} {'commits':>7} {'frames':>9} {'e2e f/s':>9} {'cpu f/s':>9} {'B/frame':>8} {'pyte f/s':>9} "
            f"{'ratio':>6} {'B/key':>6}  " + " ".join(f"{s:>8}" for s in STAGES))
    print(head)
    print("-" * len(head))
    for r in results:
        e, b, s = r["end_to_end"], r["bare_pyte"], r["stages_s"]
        split = " ".join(f"{100 * s[k] / s['total']:7.1f}%" for k in STAGES)
        print(f"{r['repo'][-22:]:<22} {e['commits']:>7} {e['frames']:>9,} {e['fps']:>9,.0f} {e['cpu_fps']:>9,.0f} "
              f"{e['bytes_per_frame']:>8.2f} {b['cpu_fps']:>9,.0f} {r['ratio_vs_bare_pyte']:>6.2f} {b['bytes_per_key']:>6.1f}  {split}")
        if e["lossless_failures"]:
            print(f"  !! {e['lossless_failures']} lossless failures")
        if r.get("end_to_end_numpy_encoder"):
            n = r["end_to_end_numpy_encoder"]
            print(f"  numpy encoder (baseline): {n['cpu_fps']:,.0f} cpu f/s; the compiled encoder above is "
                  f"{e['cpu_fps'] / n['cpu_fps']:.2f}x")
        if r["end_to_end_threaded"]:
            t = r["end_to_end_threaded"]
            print(f"  compression on a background thread: {t['fps']:,.0f} frames/s wall")
    print("e2e f/s: wall clock; cpu f/s and pyte f/s: process CPU time (the machine may be shared);")
    print("ratio = end-to-end CPU time / bare pyte CPU time; stage split from the instrumented run (wall)")
    print("targets (DESIGN 7): >= 20,000 frames/s end to end on one core, ratio <= 1.5, <= 10 bytes/frame with xz")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="+", metavar="REPO", help="repository path or synthetic:N")
    ap.add_argument("--json", dest="json_out", metavar="OUT", help="write results as JSON")
    ap.add_argument("--max-commits", type=int, default=None, metavar="N", help="oldest N commits of each repo")
    ap.add_argument("--codec", choices=["xz", "zstd"], default="xz")
    ap.add_argument("--no-file-filters", action="store_true",
                    help="type every text file (no notebook/lock/generated/... filters), as before they existed")
    ap.add_argument("--frame-size", default="48x160", metavar="ROWSxCOLS")
    ap.add_argument("--threaded", action="store_true", help="also time with compression on a background thread")
    ap.add_argument("--encoder", choices=["auto", "compiled", "numpy"], default="auto",
                    help="the writer's whole-frame diff (auto: compiled when numba is installed; then the numpy "
                         "one is timed too, as the baseline)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        results = [bench_repo(spec, args, tmp) for spec in args.repos]
    print_table(results)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
