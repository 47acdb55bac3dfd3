"""The kernels compile for sm_90 (H100/H200) on a machine without a GPU.

The interpreter cannot catch GPU code-generation failures (layouts, dot shapes,
scalar atomics in the grid barrier); ahead-of-time compilation with the ptxas shipped
in the Triton wheel does. Runs in a subprocess because ``triton.jit`` picks
interpreter vs compiler at import time and this test process imported the kernels
interpreted.
"""

from __future__ import annotations

import os
import subprocess
import sys


def test_kernels_compile_for_sm90_in_cta_and_grid_modes():
    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="1")
    proc = subprocess.run(
        [sys.executable, "-m", "sessionforge_kernels.aot_check", "--hidden", "32", "256", "--batch", "8",
         "--dtype", "fp16"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith(("fwd", "bwd"))]
    # H=32: one program along H (sync 1 = cta); H=256: 64 programs, grid barrier (sync 2).
    assert [(r[0], r[2], r[7]) for r in rows] == [
        ("fwd", "32", "1"), ("bwd", "32", "1"), ("fwd", "256", "2"), ("bwd", "256", "2")
    ]
    for r in rows:
        assert int(r[10]) <= 255, r  # registers per thread within the hardware limit


def test_grid_barrier_ptx_has_release_arrival_and_acquire_polls():
    """The memory-ordering claims of kernels/README.md, read off the sm_90 PTX."""
    code = (
        "from sessionforge_kernels import aot_check as ac\n"
        "for kind in ('fwd', 'bwd'):\n"
        "    print(kind, repr(ac.compile_kernel(kind, 'fp16', 256, 4, 16, 2, 4).asm['ptx']))\n"
    )
    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ptx = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("fwd ", "bwd ")))
    assert set(ptx) == {"fwd", "bwd"}
    for kind, text in ptx.items():
        assert "atom.global.gpu.acq_rel" in text, kind  # arrival releases this program's stores
        assert "ld.global.acquire.gpu.b32" in text, kind  # polls acquire the others'
