"""Benchmark the Triton LSTM kernels against cuDNN (torch.nn.LSTM) and the plain-torch reference.

One LSTM layer with input size H, sequence length T, batch B, fp16 by default:

* ``cudnn``: ``torch.nn.LSTM(H, H)`` (single layer, so cuDNN can pick its persistent kernel);
* ``triton``: input projection as one GEMM (``x @ weight_ih.T``) + ``lstm_sequence``;
* ``reference``: the same projection + ``lstm_reference`` (a Python loop over time).

Times are medians of CUDA-event timings after warm-up, reported per time step, for
the forward pass (under ``no_grad``) and forward+backward (all weight and input
grads). TFLOP/s counts the model FLOPs of both matmuls: forward 16*B*H^2 per step,
forward+backward 3x that. ``vs cudnn`` = cuDNN time / this time (> 1: faster).

Usage:
    python bench/lstm_bench.py [--json OUT]                       # GPU grid B x H at T=1024
    python bench/lstm_bench.py --device cpu --small               # CPU smoke (interpreter; timings meaningless)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", metavar="OUT", help="write results as JSON to OUT")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--small", action="store_true", help="tiny sizes (B=2, H=16, T=8) for a smoke run")
    p.add_argument("--batch", type=int, nargs="+", default=[8, 32, 128])
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--steps", type=int, default=1024, help="sequence length T")
    p.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--no-reference", action="store_true", help="skip the (slow) reference timings")
    a = p.parse_args()
    if a.small:
        a.batch, a.hidden, a.steps, a.repeats = [2], [16], 8, 2
    return a


def _timer(device: str):
    import torch

    if device == "cuda":
        def run(fn, repeats: int) -> float:
            fn()  # warm-up (compiles Triton kernels, picks cuDNN algorithms)
            torch.cuda.synchronize()
            times = []
            for _ in range(repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1e3)
            return statistics.median(times)
    else:
        def run(fn, repeats: int) -> float:
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return statistics.median(times)
    return run


def _bench_one(B: int, H: int, T: int, dtype, device: str, repeats: int, with_ref: bool) -> list[dict]:
    import torch

    from sessionforge_kernels import lstm_reference, lstm_sequence

    timer = _timer(device)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(H, H).to(device=device, dtype=dtype)
    x = torch.randn(T, B, H, device=device, dtype=dtype)
    h0 = torch.zeros(B, H, device=device, dtype=dtype)
    c0 = torch.zeros_like(h0)
    dy = torch.randn(T, B, H, device=device, dtype=dtype)
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]

    def ours(impl):
        def layer(xx):
            xp = xx @ lstm.weight_ih_l0.t()  # (T, B, 4H): the input projection, one GEMM
            return impl(xp, lstm.weight_hh_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0, h0, c0)[0]
        return layer

    def cudnn(xx):
        return lstm(xx, (h0[None], c0[None]))[0]

    # On a CPU smoke run the baseline is torch's CPU LSTM, labelled as such.
    impls = {"cudnn" if device == "cuda" else "nn.LSTM": cudnn, "triton": ours(lstm_sequence)}
    if with_ref:
        impls["reference"] = ours(lstm_reference)
    flops_fwd = 16 * B * H * H * T
    rows = []
    for name, layer in impls.items():
        def fwd():
            with torch.no_grad():
                layer(x)

        def fwd_bwd():
            xx = x.detach().requires_grad_()
            torch.autograd.backward(layer(xx), dy, inputs=[xx, *params])

        t_f = timer(fwd, repeats)
        t_fb = timer(fwd_bwd, repeats)
        rows.append({
            "impl": name, "B": B, "H": H, "T": T, "dtype": str(dtype).replace("torch.", ""),
            "fwd_us_per_step": t_f / T * 1e6, "fwd_bwd_us_per_step": t_fb / T * 1e6,
            "fwd_tflops": flops_fwd / t_f / 1e12, "fwd_bwd_tflops": 3 * flops_fwd / t_fb / 1e12,
        })
    base = rows[0]
    for r in rows:
        r["fwd_vs_cudnn"] = base["fwd_us_per_step"] / r["fwd_us_per_step"]
        r["fwd_bwd_vs_cudnn"] = base["fwd_bwd_us_per_step"] / r["fwd_bwd_us_per_step"]
    return rows


def main() -> int:
    a = _parse()
    if a.device == "cpu":
        os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported: kernels run on numpy
    import torch

    if a.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device: this benchmark needs a GPU "
              "(use --device cpu --small for a CPU smoke run of the script)", file=sys.stderr)
        return 2
    if a.device == "cuda" and os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        print("error: TRITON_INTERPRET is set: unset it to time the compiled kernels", file=sys.stderr)
        return 2
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.dtype]
    if a.device == "cpu" and dtype != torch.float32:
        dtype = torch.float32  # CPU LSTM and the interpreter's dot want fp32
    device_name = torch.cuda.get_device_name() if a.device == "cuda" else "cpu (Triton interpreter)"
    print(f"device: {device_name}   torch {torch.__version__}   dtype {dtype}   T={a.steps}")
    hdr = f"{'impl':<10}{'B':>5}{'H':>6}  {'fwd us/step':>12}{'TFLOP/s':>9}{'vs cudnn':>9}  {'f+b us/step':>12}{'TFLOP/s':>9}{'vs cudnn':>9}"
    print(hdr)
    print("-" * len(hdr))
    results = []
    for H in a.hidden:
        for B in a.batch:
            for r in _bench_one(B, H, a.steps, dtype, a.device, a.repeats, not a.no_reference):
                results.append(r)
                print(f"{r['impl']:<10}{B:>5}{H:>6}  {r['fwd_us_per_step']:>12.2f}{r['fwd_tflops']:>9.3f}"
                      f"{r['fwd_vs_cudnn']:>9.2f}  {r['fwd_bwd_us_per_step']:>12.2f}{r['fwd_bwd_tflops']:>9.3f}"
                      f"{r['fwd_bwd_vs_cudnn']:>9.2f}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": device_name, "torch": torch.__version__, "args": vars(a), "results": results}, f, indent=1)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
