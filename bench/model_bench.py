"""Training-step throughput and FLOPs per frame of model configs, measured side by side.

For each config: the model it describes (vocabulary ``tokenizer.vocab``), one torch thread,
the training step its ``train`` section asks for (streaming BPTT or full backprop, window,
batch, chunk) on 48x160 frames read from a shard, timed in process CPU time (and wall time)
over ``--steps`` steps after one warm-up step (numba compiles there), ``--repeats`` times
with the configs interleaved so that a busy machine slows all of them alike; the median is
reported. FLOPs per frame are counted with ``torch.utils.flop_counter.FlopCounterMode``
over one plain forward+backward of the same model on its torch path (``embed.impl=torch``:
the same numbers, every multiply-add a torch op the counter sees), and over one training
step the same way (a streaming step recomputes part of the frame head). A pointwise patch
stem's share is shown apart: the numba cell path skips the patches that equal the previous
frame's, so those counted FLOPs are mostly not executed there (GFLOP/CPU-s counts them all).

    python bench/model_bench.py                      # configs/debug.yaml vs configs/cpu-experiment.yaml
    python bench/model_bench.py --data DATA --repeats 5 --json bench/out/model.json

Without ``--data`` a synthetic typing session is written to a temporary folder
(tests/train/synth.py: one key per frame, as on real sessions). Frames of real sessions
(``--data``) are what the numbers in bench/README.md use.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = [str(ROOT / "configs" / "debug.yaml"), str(ROOT / "configs" / "cpu-experiment.yaml")]


def synthetic_shard(folder: Path, frames: int, streams: int) -> Path:
    """A 48x160 shard of ``streams`` synthetic typing sessions of ``frames`` frames."""
    sys.path.insert(0, str(ROOT / "tests" / "train"))
    from synth import write_synthetic_shard

    return write_synthetic_shard(folder / "bench.tss", sessions=streams, frames=frames, rows=48, cols=160)


class Bench:
    """One config's model, loader and training step."""

    def __init__(self, path: str, data: str, overrides: list[str]) -> None:
        import torch

        from sessionforge.config import load_config
        from sessionforge.dataset import ShardSet
        from sessionforge.model.fbam import FBAM, count_parameters
        from sessionforge.model.tokenizer import ActionTokenizer
        from sessionforge.train.config import TrainConfig
        from sessionforge.train.loader import StreamLoader

        self.name = Path(path).stem
        self.cfg = load_config(TrainConfig, path, overrides)
        tc = self.cfg.train
        torch.manual_seed(0)
        self.model = FBAM(self.cfg.model, self.cfg.tokenizer.vocab)
        self.parameters = count_parameters(self.model)
        # The base tokenizer's targets (< 381) fit any vocabulary; the model keeps the config's size.
        self.loader = StreamLoader(ShardSet(data), ActionTokenizer(), window=tc.window, batch=tc.batch,
                                   stream_windows=tc.stream_windows, workers=0)
        self.frames_per_step = tc.window * tc.batch
        self.cpu: list[float] = []  # frames per CPU second, one per repeat
        self.wall: list[float] = []

    def step(self) -> None:
        """One training step (gradients accumulate; no optimizer: the step's cost is the model's)."""
        from sessionforge.train.bptt import full_step, streaming_step

        tc = self.cfg.train
        window = self.loader.next_window()
        self.model.zero_grad(set_to_none=True)
        if tc.mode == "streaming":
            streaming_step(self.model, window, None, chunk=tc.chunk, frame_chunk=tc.frame_chunk)
        else:
            full_step(self.model, window, None)

    def time(self, steps: int) -> None:
        """Append the frames/s of ``steps`` steps (CPU and wall)."""
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            self.step()
        frames = steps * self.frames_per_step
        self.cpu.append(frames / (time.process_time() - c0))
        self.wall.append(frames / (time.perf_counter() - w0))

    def flops(self) -> tuple[float, float]:
        """(forward+backward, training step) FLOPs per frame, counted on the torch path."""
        import copy

        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from sessionforge.model.fbam import FBAM
        from sessionforge.train.bptt import full_step

        cfg = copy.deepcopy(self.cfg.model)
        cfg.embed.impl = "torch"  # every multiply-add a torch op the counter sees
        model = FBAM(cfg, self.cfg.tokenizer.vocab)
        model.load_state_dict(self.model.state_dict())
        real, self.model = self.model, model
        try:
            with FlopCounterMode(display=False) as fwd_bwd:
                full_step(model, self.loader.next_window(), None)
            with FlopCounterMode(display=False) as step:
                self.step()
        finally:
            self.model = real
        return fwd_bwd.get_total_flops() / self.frames_per_step, step.get_total_flops() / self.frames_per_step

    def stem_flops(self) -> float:
        """Forward+backward FLOPs per frame of a pointwise patch stem (0 without one): counted
        above as the dense matmul they are on the torch path; the numba path skips a patch
        that equals the previous frame's (most of them on real sessions)."""
        m, fh = self.cfg.model, self.cfg.model.frame_head
        if fh.kernel != 1 or fh.patch == 1:
            return 0.0
        patches = (m.rows // fh.patch) * (m.cols // fh.patch)
        return 3 * 2 * patches * fh.patch**2 * m.embed.dim * fh.conv_channels[0]  # fwd, dW, dX


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS, help="train configs; the first is the baseline")
    ap.add_argument("--data", default=None, help="dataset folder or shard (default: a synthetic typing session)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every config")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or str(synthetic_shard(Path(tmp), frames=2000, streams=16))
        benches = [Bench(path, data, args.set) for path in args.configs]
        for b in benches:
            b.step()  # warm-up: numba compiles (or loads its cache), allocators settle
        for _ in range(args.repeats):
            for b in benches:
                b.time(args.steps)
        flops = [b.flops() for b in benches]
    base = statistics.median(benches[0].cpu)
    rows = []
    for b, (fb, st) in zip(benches, flops):
        cpu, wall = statistics.median(b.cpu), statistics.median(b.wall)
        rows.append({
            "config": b.name, "parameters": b.parameters, "window": b.cfg.train.window, "batch": b.cfg.train.batch,
            "mode": b.cfg.train.mode, "frames_per_cpu_s": round(cpu, 1), "frames_per_s_wall": round(wall, 1),
            "us_per_frame": round(1e6 / cpu, 1), "mflop_per_frame_fwd_bwd": round(fb / 1e6, 3),
            "mflop_per_frame_step": round(st / 1e6, 3), "gflop_per_cpu_s": round(st * cpu / 1e9, 2),
            "mflop_per_frame_patch_stem": round(b.stem_flops() / 1e6, 3),
            "speedup": round(cpu / base, 2), "repeats_frames_per_cpu_s": [round(x, 1) for x in b.cpu],
        })
    print(f"model bench: one torch thread, {args.repeats} interleaved repeats of {args.steps} steps, "
          f"median; data {args.data or 'synthetic typing session'}")
    print("| config | parameters | L x B | frames/CPU-s | frames/s (wall) | us/frame | MFLOP/frame fwd+bwd "
          "| of which patch stem | MFLOP/frame step | GFLOP/CPU-s | vs first |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['config']} | {r['parameters']:,} | {r['window']} x {r['batch']} | {r['frames_per_cpu_s']:,.0f} "
              f"| {r['frames_per_s_wall']:,.0f} | {r['us_per_frame']:,.0f} | {r['mflop_per_frame_fwd_bwd']:.2f} "
              f"| {r['mflop_per_frame_patch_stem']:.2f} | {r['mflop_per_frame_step']:.2f} "
              f"| {r['gflop_per_cpu_s']:.2f} | {r['speedup']:.2f}x |")
    if args.json:
        out = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                           "torch": torch.__version__}, "data": args.data, "rows": rows}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
