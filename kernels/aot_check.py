"""Compile the LSTM kernels for an NVIDIA target without a GPU and report their resources.

The interpreter checks semantics but not GPU code generation (layouts, dot operand
shapes, scalar atomics, register pressure). This compiles the real kernels ahead of
time with the ptxas bundled in the Triton wheel and reads registers / stack (local
memory spills) / shared memory from the cubin:

    TRITON_INTERPRET=0 python -m sessionforge_kernels.aot_check [--arch 90] [--hidden 256 1024] [--dtype fp16 bf16]

Must run with the interpreter off (``triton.jit`` decides at import time).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

import torch

from .common import SYNC_CTA, SYNC_GRID, LSTMKernelConfig, make_plan


def _kernels():
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        raise RuntimeError("aot_check needs TRITON_INTERPRET=0 (set before Python starts)")
    from .lstm_bwd import _lstm_bwd_kernel
    from .lstm_fwd import _lstm_fwd_kernel

    return _lstm_fwd_kernel, _lstm_bwd_kernel


def compile_kernel(kind: str, dtype: str, hp: int, block_h: int, block_b: int, sync: int,
                   num_warps: int, arch: int = 90, resident: bool = True, block_k: int = 64, poll: int = 1,
                   ksplit: int = 1):
    """AOT-compile the forward ("fwd") or backward ("bwd") kernel; returns the compiled kernel.

    Specialised as a real launch would be (16-byte aligned pointers, H and the row
    count divisible by 16, ``num_stages=1``): a plain signature under-reports shared
    memory (Triton 3.6 staged 328 KB for a backward that reads 97 KB here without it).
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fwd, bwd = _kernels()
    cdt = "fp64" if dtype == "fp64" else "fp32"
    if kind == "fwd":
        fn = fwd
        ptrs = dict(XP=dtype, WHH=dtype, BIAS=dtype, Y=dtype, C=cdt, G=cdt, BAR="i32", ERR="i32")
    else:
        fn = bwd
        ptrs = dict(DY=dtype, G=cdt, C=cdt, WHH=dtype, DX=dtype, DH=cdt, DC=cdt, BAR="i32", ERR="i32")
    consts = {"HP": hp, "BLOCK_H": block_h, "BLOCK_B": block_b, "SYNC": sync,
              "RESIDENT": resident, "BLOCK_K": min(block_k, hp), "POLL": poll}
    if kind == "bwd":
        consts["KSPLIT"] = ksplit
    sig = {n: ("*" + ptrs[n] if n in ptrs else "constexpr" if n in consts else "i32") for n in fn.arg_names}
    aligned = [n for n in [*ptrs, "H", "rows_per_prog"] if n in fn.arg_names]
    attrs = {(fn.arg_names.index(n),): [["tt.divisibility", 16]] for n in aligned}
    src = ASTSource(fn, sig, constexprs={(fn.arg_names.index(n),): v for n, v in consts.items()}, attrs=attrs)
    return triton.compile(src, target=GPUTarget("cuda", arch, 32), options={"num_warps": num_warps, "num_stages": 1})


def resources(kernel) -> dict[str, int]:
    """Registers, stack bytes (spills), static and dynamic shared memory of a compiled kernel."""
    from triton.backends.nvidia import compiler as nv

    cuobjdump = os.path.join(os.path.dirname(nv.__file__), "bin", "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(kernel.asm["cubin"])
        f.flush()
        out = subprocess.run([cuobjdump, "-res-usage", f.name], capture_output=True, text=True, check=True).stdout
    m = re.search(r"REG:(\d+).*?STACK:(\d+).*?SHARED:(\d+)", out, re.S)
    if m is None:
        raise RuntimeError(f"cannot parse cuobjdump output: {out[-300:]}")
    return {"regs": int(m[1]), "stack": int(m[2]), "static_shared": int(m[3]), "dyn_shared": kernel.metadata.shared}


def main(argv: list[str] | None = None) -> int:
    """CLI: compile the planned kernels for each (dtype, H, B) and print a resource table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", type=int, default=90, help="compute capability, e.g. 90 for H100/H200")
    p.add_argument("--sms", type=int, default=132, help="SM count the launch plan assumes")
    p.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512, 1024])
    p.add_argument("--batch", type=int, nargs="+", default=[32])
    p.add_argument("--dtype", nargs="+", default=["fp16", "bf16"], choices=["fp16", "bf16", "fp32", "fp64"])
    a = p.parse_args(argv)
    from . import common

    common._num_sms = lambda device: a.sms  # plan as on the target GPU
    print(f"{'kernel':<5}{'dtype':>6}{'H':>6}{'B':>5}{'BLOCK_H':>8}{'BLOCK_B':>8}{'n_h':>5}{'sync':>6}"
          f"{'warps':>6}{'res':>4}{'regs':>6}{'spill B':>8}{'smem KB':>8}")
    worst = 0
    for dtype in a.dtype:
        for H in a.hidden:
            for B in a.batch:
                tdt = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32, "fp64": torch.float64}
                plan = make_plan(B, H, torch.device("cpu"), LSTMKernelConfig(), tdt[dtype])
                sync = plan.sync if plan.sync in (SYNC_CTA, SYNC_GRID) else SYNC_GRID
                for kind in ("fwd", "bwd"):
                    k = compile_kernel(kind, dtype, plan.hp, plan.block_h, plan.block_b, sync, plan.num_warps,
                                       a.arch, plan.resident, plan.block_k, ksplit=plan.ksplit)
                    r = resources(k)
                    worst = max(worst, r["stack"])
                    print(f"{kind:<5}{dtype:>6}{H:>6}{B:>5}{plan.block_h:>8}{plan.block_b:>8}{plan.n_h:>5}"
                          f"{sync:>6}{plan.num_warps:>6}{int(plan.resident):>4}{r['regs']:>6}{r['stack']:>8}"
                          f"{(r['dyn_shared'] + r['static_shared']) / 1024:>8.1f}", flush=True)
    print(f"largest stack (local-memory spill) per thread: {worst} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
