"""Training throughput and peak memory against window length L (streaming BPTT vs full backprop).

Each (mode, L) point runs in its own process so its peak memory is its own: peak RSS
above the post-setup RSS on a CPU, ``torch.cuda.max_memory_allocated`` on a GPU.
Streaming BPTT should stay flat in L; full backprop (the baseline, measured in the
same run up to ``--full-max``) grows linearly.

    python bench/train_bench.py                                   # CPU, debug size, L = 256..4096
    python bench/train_bench.py --config configs/fbam-base.yaml --device cuda \\
        --lengths 1024 4096 16384 --batch 8 --full-max 1024        # GPU, paper size

Without ``--data`` a synthetic 48x160 dataset (tests/train/synth.py) is written to a
temporary folder. ``--json OUT`` writes every row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(args: argparse.Namespace) -> None:
    """Measure one (mode, L) point and print one JSON line."""
    import torch

    from sessionforge.config import load_config
    from sessionforge.model.fbam import FBAM, count_parameters
    from sessionforge.model.tokenizer import ActionTokenizer
    from sessionforge.train.bptt import full_step, streaming_step
    from sessionforge.train.config import TrainConfig
    from sessionforge.train.loader import StreamLoader
    from sessionforge.dataset import ShardSet

    overrides = [f"train.window={args.L}", f"train.batch={args.batch}", *args.set]
    cfg = load_config(TrainConfig, args.config, overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    amp = torch.bfloat16 if device.type == "cuda" else None
    shards = ShardSet(args.data)
    shards.check_frame_size(cfg.model.rows, cfg.model.cols)
    tok = ActionTokenizer()
    torch.manual_seed(0)
    model = FBAM(cfg.model, tok.vocab_size).to(device)
    loader = StreamLoader(shards, tok, window=args.L, batch=args.batch, stream_windows=1, workers=cfg.train.workers)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = _rss_now()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        window = loader.next_window()
        model.zero_grad(set_to_none=True)
        if args.mode == "streaming":
            res = streaming_step(model, window, None, chunk=cfg.train.chunk, frame_chunk=cfg.train.frame_chunk,
                                 device=device, autocast_dtype=amp, offload=device.type == "cuda")
        else:
            res = full_step(model, window, None, device=device, autocast_dtype=amp)
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    seconds = time.perf_counter() - t0
    frames = args.steps * args.L * args.batch
    print(json.dumps({"mode": args.mode, "L": args.L, "batch": args.batch, "frames_per_s": frames / seconds,
                      "seconds": seconds, "peak_bytes": int(peak), "loss": res.loss,
                      "parameters": count_parameters(model), "device": str(device)}))


def synthetic_data(folder: Path, frames: int, streams: int) -> Path:
    """Write ``streams`` sessions of ``frames`` frames at 48x160."""
    sys.path.insert(0, str(ROOT / "tests" / "train"))
    from synth import write_synthetic_shard

    write_synthetic_shard(folder / "bench.tss", sessions=streams, frames=frames, rows=48, cols=160, codec="zstd")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "debug.yaml"))
    ap.add_argument("--data", default=None, help="dataset folder or shard (default: synthetic 48x160)")
    ap.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    ap.add_argument("--full-max", type=int, default=1024, help="largest L for the full-backprop baseline")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = default)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--_child", nargs=2, metavar=("MODE", "L"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        args.mode, args.L = args._child[0], int(args._child[1])
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or str(synthetic_data(Path(tmp), max(args.lengths) + 1, args.batch))
        rows = []
        plan = [("streaming", L) for L in args.lengths] + [("full", L) for L in args.lengths if L <= args.full_max]
        for mode, L in plan:
            cmd = [sys.executable, __file__, "--config", args.config, "--data", data, "--batch", str(args.batch),
                   "--steps", str(args.steps), "--device", args.device, "--threads", str(args.threads),
                   "--_child", mode, str(L)]
            for s in args.set:
                cmd += ["--set", s]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{mode} L={L}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{mode:>9}  L={L:>6}  {row['frames_per_s']:9.1f} frames/s  peak {row['peak_bytes'] / 2**20:9.1f} MiB"
                  f"  ({row['seconds']:.1f} s)", flush=True)
    print()
    print(f"| mode | L | frames/s | peak memory (MiB) |")
    print("| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['mode']} | {r['L']} | {r['frames_per_s']:.1f} | {r['peak_bytes'] / 2**20:.1f} |")
    stream = [r for r in rows if r["mode"] == "streaming"]
    if len(stream) >= 2:
        ratio = stream[-1]["peak_bytes"] / max(stream[0]["peak_bytes"], 1)
        print(f"\nstreaming peak memory, L={stream[-1]['L']} vs L={stream[0]['L']}: {ratio:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": args.device, "config": args.config, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
