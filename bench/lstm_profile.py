"""Break the Triton LSTM's time into its parts and sweep launch configs (GPU only).

For one (B, H, T) and each launch config given, prints one row:

* ``err``: worst relative error (Frobenius) of y and all five gradients against the
  fp32 reference at T=64 (fresh random inputs): a variant that is wrong is marked,
  whatever its speed;
* ``fwd``: the forward kernel alone, us per step;
* ``bwd-rec``: the reverse-time kernel alone, us per step;
* ``wgrad``: the dW_hh / dbias GEMMs, us per step;
* ``fwd+bwd``: ``lstm_sequence`` forward + backward (no input projection), us per step;

beside cuDNN (``torch.nn.LSTM`` with an identity-free input: its time includes the input
projection GEMMs, which at T=1024 cost well under a microsecond per step).

    python bench/lstm_profile.py --batch 32 --hidden 1024 --configs auto bh16 bb32 w4 [--json OUT]

Config names: ``auto`` (the plan's choice); tokens joined by ``-``: ``bhN`` block_h,
``bbN`` block_b, ``wN`` num_warps, ``step`` / ``grid`` sync, ``stream`` (resident=False),
``atomic`` / ``load`` grid-barrier polling, ``ksN`` K-split of the resident dots.
"""

from __future__ import annotations

import argparse
import json
import sys


def parse_config(name: str):
    from sessionforge_kernels import LSTMKernelConfig

    if name == "auto":
        return LSTMKernelConfig()
    kw: dict = {}
    for tok in name.split("-"):
        if tok.startswith("bh"):
            kw["block_h"] = int(tok[2:])
        elif tok.startswith("bb"):
            kw["block_b"] = int(tok[2:])
        elif tok.startswith("w"):
            kw["num_warps"] = int(tok[1:])
        elif tok in ("step", "grid", "cta"):
            kw["sync"] = tok
        elif tok == "stream":
            kw["resident"] = False
        elif tok.startswith("ks"):
            kw["ksplit"] = int(tok[2:])
        elif tok in ("atomic", "load"):
            kw["poll"] = tok
        else:
            raise SystemExit(f"error: unknown config token {tok!r} in {name!r}")
    return LSTMKernelConfig(**kw)


def rel_err(config, B: int, H: int, dtype) -> float:
    import torch

    from sessionforge_kernels import lstm_reference, lstm_sequence

    T = 64
    shapes = [(T, B, 4 * H), (4 * H, H), (4 * H,), (B, H), (B, H)]
    scales = [1.0, 1.0 / H**0.5, 0.5, 0.8, 0.8]
    base = [torch.randn(s, device="cuda") * k for s, k in zip(shapes, scales)]
    ours = [b.to(dtype).requires_grad_() for b in base]
    ref = [b.to(dtype).float().requires_grad_() for b in base]
    wy = torch.randn(T, B, H, device="cuda")
    outs = []
    for fn, args in ((lambda *a: lstm_sequence(*a, config=config), ours), (lstm_reference, ref)):
        y, (h, c) = fn(*args)
        ((y.float() * wy).sum() + h.float().sum() + c.float().sum()).backward()
        outs.append([y.detach().float()] + [a.grad.float() for a in args])
    worst = 0.0
    for a, b in zip(*outs):
        e = float((a - b).norm() / b.norm().clamp_min(1e-6))
        worst = max(worst, e if e == e else float("inf"))  # NaN counts as failure
    return worst


def profile(config, B: int, H: int, T: int, dtype) -> dict:
    import torch
    from triton.testing import do_bench

    from sessionforge_kernels.common import compute_dtype, make_plan
    from sessionforge_kernels.function import lstm_sequence
    from sessionforge_kernels.lstm_bwd import lstm_backward_recurrence, weight_grads
    from sessionforge_kernels.lstm_fwd import lstm_forward

    dev = torch.device("cuda")
    xp = torch.randn(T, B, 4 * H, device=dev, dtype=dtype)
    w = (torch.randn(4 * H, H, device=dev) / H**0.5).to(dtype)
    b = (torch.randn(4 * H, device=dev) * 0.5).to(dtype)
    h0 = torch.randn(B, H, device=dev, dtype=dtype) * 0.5
    c0 = torch.randn(B, H, device=dev, dtype=dtype) * 0.5
    dy = torch.randn(T, B, H, device=dev, dtype=dtype)
    plan = make_plan(B, H, dev, config, dtype)
    y, c, g = lstm_forward(xp, w, b, h0, c0, plan)
    cdt = compute_dtype(dtype)
    dh_T = torch.zeros(B, H, device=dev, dtype=cdt)
    dx, _, _ = lstm_backward_recurrence(dy, dh_T, dh_T, g, c, w, plan)

    def med(fn):
        return do_bench(fn, warmup=50, rep=300, return_mode="median") * 1e3 / T  # us per step

    leaves = [t.detach().requires_grad_() for t in (xp, w, b, h0, c0)]

    def full():
        yy, _ = lstm_sequence(*leaves, config=config)
        yy.backward(dy)

    return {
        "plan": {k: getattr(plan, k) for k in ("block_h", "block_b", "n_h", "n_b", "rows_per_prog", "sync",
                                               "resident", "num_warps", "ksplit")},
        "fwd": med(lambda: lstm_forward(xp, w, b, h0, c0, plan)),
        "bwd_rec": med(lambda: lstm_backward_recurrence(dy, dh_T, dh_T, g, c, w, plan)),
        "wgrad": med(lambda: weight_grads(dx, y)),
        "fwd_bwd": med(full),
    }


def cudnn(B: int, H: int, T: int, dtype) -> dict:
    import torch
    from triton.testing import do_bench

    lstm = torch.nn.LSTM(H, H).to(device="cuda", dtype=dtype)
    x = torch.randn(T, B, H, device="cuda", dtype=dtype)
    dy = torch.randn(T, B, H, device="cuda", dtype=dtype)

    def fwd():
        with torch.no_grad():
            lstm(x)

    def fwd_bwd():
        xx = x.detach().requires_grad_()
        lstm(xx)[0].backward(dy)

    return {"fwd": do_bench(fwd, warmup=50, rep=300, return_mode="median") * 1e3 / T,
            "fwd_bwd": do_bench(fwd_bwd, warmup=50, rep=300, return_mode="median") * 1e3 / T}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, nargs="+", default=[32])
    p.add_argument("--hidden", type=int, nargs="+", default=[1024])
    p.add_argument("--steps", type=int, default=1024)
    p.add_argument("--dtype", default="fp16", choices=["fp16", "bf16"])
    p.add_argument("--configs", nargs="+", default=["auto"])
    p.add_argument("--json", metavar="OUT")
    a = p.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("error: lstm_profile needs a CUDA GPU", file=sys.stderr)
        return 2
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    rows = []
    hdr = f"{'B':>4}{'H':>6} {'config':<16}{'err':>9}{'fwd':>8}{'bwd-rec':>9}{'wgrad':>8}{'fwd+bwd':>9}  plan"
    print(hdr)
    for H in a.hidden:
        for B in a.batch:
            cd = cudnn(B, H, a.steps, dtype)
            print(f"{B:>4}{H:>6} {'cudnn':<16}{'':>9}{cd['fwd']:>8.2f}{'':>9}{'':>8}{cd['fwd_bwd']:>9.2f}", flush=True)
            rows.append({"B": B, "H": H, "config": "cudnn", **cd})
            for name in a.configs:
                cfg = parse_config(name)
                try:  # a config refused (plan, out of resources) is reported; the sweep goes on
                    err = rel_err(cfg, B, H, dtype)
                    r = profile(cfg, B, H, a.steps, dtype)
                except Exception as e:  # noqa: BLE001 (a benchmark row, not program logic)
                    print(f"{B:>4}{H:>6} {name:<16} failed: {type(e).__name__}: {str(e)[:200]}", flush=True)
                    rows.append({"B": B, "H": H, "config": name, "failed": f"{type(e).__name__}: {e}"})
                    continue
                rows.append({"B": B, "H": H, "config": name, "err": err, **r})
                flag = "" if err < 5e-2 else " WRONG"
                print(f"{B:>4}{H:>6} {name:<16}{err:>9.1e}{r['fwd']:>8.2f}{r['bwd_rec']:>9.2f}{r['wgrad']:>8.2f}"
                      f"{r['fwd_bwd']:>9.2f}  {r['plan']}{flag}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "T": a.steps,
                       "dtype": a.dtype, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
