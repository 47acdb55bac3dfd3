"""Shared pieces of the Triton LSTM kernels: activations, the grid barrier, launch plans.

Launch strategy (why it looks like this, details in ``kernels/README.md``):

* The recurrence is latency-bound: each step is a tiny (B, H) x (H, 4H) matmul that
  depends on the previous one. Re-reading W_hh (8 MB at H=1024 fp16) from L2 every
  step costs more than the math, so each program keeps *its slice* of W_hh on chip
  (registers / shared memory) for the whole launch and loops over time inside the kernel.
* One SM cannot hold all of W_hh for H >= ~128, so the hidden dimension is split
  across ``n_h`` programs (program ``j`` owns hidden units ``j*BLOCK_H ..`` and the
  four gate rows that feed them). Every step needs the *whole* h_{t-1}, so programs
  exchange h through global memory (``y`` itself, whose row 0 holds h0: step t reads
  ``y[t]``, writes ``y[t+1]``, so there is no write-after-read hazard) and meet at a
  grid barrier built from one atomic counter per batch block (Triton has no grid sync).
* A spin barrier needs every program resident at once, so the persistent "grid"
  mode is only used when ``n_h * n_b <= number of SMs``. Otherwise (and always under
  ``TRITON_INTERPRET=1``, where programs run one after another) the same kernel is
  launched once per time step ("step" mode); ``n_h == 1`` needs only a CTA barrier
  and runs all steps in one launch ("cta" mode).
* ``tl.dot`` wants K >= 16 (and M, N >= 16 on older Triton): the batch block is
  padded to at least 16 rows with masked loads, H is padded to a power of two >= 16,
  and the four gates of a slice are computed by one dot of width 4*BLOCK_H >= 16.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

# Spin iterations (~1 us each) before a grid barrier gives up and raises the error
# flag: a program that is not co-resident must never hang the GPU; the host then
# reruns the call one launch per step.
MAX_SPIN = 1 << 24

SYNC_NONE = 0  # one step per launch: kernel boundaries order the steps
SYNC_CTA = 1  # single program along H: a CTA barrier between steps suffices
SYNC_GRID = 2  # persistent: atomic-counter barrier across the programs of a batch block

_SYNC_NAMES = {"step": SYNC_NONE, "cta": SYNC_CTA, "grid": SYNC_GRID}


@triton.jit
def sigmoid(x):
    """Logistic function; exp overflow to inf gives the right limit (0)."""
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def tanh(x):
    """tanh via the sigmoid identity (no libdevice / tl.math.tanh: portable 3.6 - 3.9)."""
    return 2.0 * sigmoid(2.0 * x) - 1.0


@triton.jit
def _load_acquire(ptr):
    """``ld.acquire.gpu`` of one int32: a plain (non-RMW) poll that still orders later loads."""
    return tl.inline_asm_elementwise("ld.global.acquire.gpu.b32 $0, [$1];", "=r,l", [ptr],
                                     dtype=tl.int32, is_pure=False, pack=1)


@triton.jit
def grid_barrier(bar_ptr, target, err_ptr, max_spin, POLL: tl.constexpr):
    """Wait until ``target`` arrivals have been counted at ``bar_ptr``; returns the spin budget left.

    The counter only grows (target = steps done * programs per batch block), so it
    never needs resetting inside a launch. The arrival is a release (acq_rel) atomic,
    which orders this program's ``y``/``dx`` stores before it; the waiters' acquire
    orders the (L1-bypassing) loads after it. POLL = 1 polls with ``ld.acquire`` loads
    (waiters do not queue behind each other's read-modify-writes at the counter's L2
    slice); POLL = 0 polls with ``atomic_add(0)`` (portable, and what the interpreter
    runs, where the loop body never executes because programs run one at a time).
    """
    tl.debug_barrier()  # every thread of this program has issued its stores
    cnt = tl.atomic_add(bar_ptr, 1, sem="acq_rel", scope="gpu") + 1
    spins = 0
    while (cnt < target) and (spins < max_spin):
        if POLL == 1:
            cnt = _load_acquire(bar_ptr)
        else:
            cnt = tl.atomic_add(bar_ptr, 0, sem="acquire", scope="gpu")
        spins += 1
    timed_out = cnt < target
    if timed_out:
        tl.atomic_xchg(err_ptr, 1)
    tl.debug_barrier()
    # The spin budget for this program's later barriers: none once one has timed out
    # (the results are being thrown away; waiting again would cost T x the limit).
    return tl.where(timed_out, 0, max_spin)


def interpreting() -> bool:
    """True when Triton runs kernels on the CPU through its interpreter."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@dataclass(frozen=True)
class LSTMKernelConfig:
    """Optional overrides of the launch plan (tests use them to cover every path).

    block_h: hidden units per program (power of two >= 4); None = automatic.
    block_b: batch rows per tile (power of two >= 16); None = automatic (16 or 32).
    sync: "grid" | "cta" | "step" | None (automatic). "grid" needs all programs
        resident; it is refused under the interpreter unless only one program runs
        along H (then the barrier trivially passes, which still exercises its code).
    resident: keep the program's W_hh slice on chip for the whole launch (True) or
        stream K-chunks of it from L2 every step (False); None = resident while the
        slice fits (measured with ``aot_check`` on sm_90: padded H <= 1024 for 16-bit,
        <= 256 for fp32, <= 64 for fp64 dtypes; beyond that the resident kernel spills
        to local memory or exceeds the 227 KB of shared memory).
    block_k: contraction chunk of the streamed path (power of two >= 16); None = min(HP, 64).
    num_warps: warps per program; None = 4 (faster than 8 at every size measured on
        an H100, bench/README.md).
    poll: how grid-barrier waiters poll the counter: "load" (``ld.acquire``, CUDA only)
        or "atomic"; None = "load" on CUDA, "atomic" under the interpreter.
    ksplit: the backward's resident dots run as this many independent K-chains
        (power of two, HP / ksplit >= 16); None = 4 for padded H >= 1024 with
        BLOCK_H >= 16, else 1 (H100 sweep, bench/README.md).
    """

    block_h: int | None = None
    block_b: int | None = None
    sync: str | None = None
    resident: bool | None = None
    block_k: int | None = None
    num_warps: int | None = None
    poll: str | None = None
    ksplit: int | None = None


@dataclass(frozen=True)
class Plan:
    """A resolved launch plan for one (B, H, device)."""

    hp: int  # H padded to a power of two >= 16
    block_h: int
    block_b: int
    n_h: int  # programs along the hidden dimension
    n_b: int  # programs along the batch dimension
    rows_per_prog: int  # batch rows one program loops over (multiple of block_b)
    sync: int
    resident: bool  # W slice kept on chip (else streamed in BLOCK_K chunks)
    block_k: int  # contraction chunk of the streamed path
    num_warps: int
    poll: int = 0  # grid barrier polling: 0 = atomic_add(0), 1 = ld.acquire
    ksplit: int = 1  # the backward's resident dots run as ksplit independent K-chains


def _num_sms(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return 1 << 30  # the interpreter has no residency limit (it has no concurrency either)


# Largest padded H whose per-program W slice stays on chip, by element size in bytes.
_RESIDENT_MAX_HP = {2: 1024, 4: 256, 8: 64}


# Largest W_hh slice (elements, HP x 4*BLOCK_H) a program keeps on chip for 16-bit dtypes:
# 128 KB, i.e. BLOCK_H <= 16 at H = 1024 (measured on an H100: runs without spilling).
_SLICE_ELEMS = 1 << 16
# A 32-row batch tile costs about 1.4x a 16-row one per step (H100 sweep,
# bench/lstm_profile.py: B=128, H=1024 runs 2 tiles of 32 in 10.1 us, 4 of 16 in 14.0).
_TILE32_COST = 1.4


def _auto_tiles(B: int, hp: int, n_sm: int, max_block_h: int) -> tuple[int, int] | None:
    """(block_h, block_b) with the shortest per-step critical path, all programs co-resident.

    Each step, a program runs its batch tiles one after another and every program
    waits for the slowest at the barrier, so the cost is tiles per program (a 32-row
    tile counting ``_TILE32_COST``); ties go to the smaller slice (fewer dot columns,
    less of W_hh per program). Measured on an H100 (bench/README.md): one 16-row tile
    per program beats every multi-tile plan.
    """
    best = None
    bh = 4
    while bh <= min(hp, max(4, max_block_h)):
        n_h = hp // bh
        if n_h <= n_sm:
            for bb in (16, 32):
                tiles = triton.cdiv(B, bb)
                n_b = max(1, min(tiles, n_sm // n_h))
                cost = triton.cdiv(tiles, n_b) * (1.0 if bb == 16 else _TILE32_COST)
                best = min(best or (cost, bh, bb), (cost, bh, bb))
        bh *= 2
    return None if best is None else (best[1], best[2])


def make_plan(
    B: int, H: int, device: torch.device, cfg: LSTMKernelConfig | None, dtype: torch.dtype = torch.float16
) -> Plan:
    """Choose tile sizes and the synchronisation mode (see the module docstring)."""
    cfg = cfg or LSTMKernelConfig()
    hp = max(16, triton.next_power_of_2(H))
    n_sm = _num_sms(device)
    elt = torch.empty((), dtype=dtype).element_size()
    resident = cfg.resident if cfg.resident is not None else hp <= _RESIDENT_MAX_HP.get(elt, 0)
    auto = None
    if cfg.block_h is None and cfg.block_b is None and hp > 64 and elt == 2:
        auto = _auto_tiles(B, hp, n_sm, _SLICE_ELEMS // (4 * hp) if resident else hp)
    if cfg.block_h is not None:
        block_h = cfg.block_h
    elif auto is not None:
        block_h = auto[0]
    elif hp <= 64:
        block_h = hp  # whole W_hh fits one program (<= 64 KB at fp32): no barrier
    else:
        # Smallest slice (>= 4 units so the fused 4-gate dot is >= 16 wide) that
        # spreads the programs over at most the SMs available.
        block_h = 4
        while hp // block_h > n_sm:
            block_h *= 2
    block_h = min(block_h, hp)
    if block_h < 4 or block_h & (block_h - 1):
        raise ValueError(f"block_h must be a power of two >= 4, got {block_h}")
    block_b = cfg.block_b or (auto[1] if auto is not None else 16)
    if block_b < 16 or block_b & (block_b - 1):
        raise ValueError(f"block_b must be a power of two >= 16, got {block_b}")
    if cfg.resident is None and auto is None and resident and elt == 2 and hp * 4 * block_h > _SLICE_ELEMS:
        # No co-resident plan keeps the slice within the on-chip budget (few SMs, e.g. a
        # MIG slice): the fallback's bigger slices are streamed from L2 instead.
        resident = False
    n_h = hp // block_h
    tiles_b = triton.cdiv(B, block_b)
    n_b = max(1, min(tiles_b, n_sm // n_h)) if n_h <= n_sm else tiles_b
    rows_per_prog = triton.cdiv(tiles_b, n_b) * block_b
    n_b = triton.cdiv(B, rows_per_prog)
    if cfg.sync is not None:
        if cfg.sync not in _SYNC_NAMES:
            raise ValueError(f"sync must be one of {sorted(_SYNC_NAMES)}, got {cfg.sync!r}")
        sync = _SYNC_NAMES[cfg.sync]
        if sync == SYNC_CTA and n_h != 1:
            raise ValueError("sync='cta' needs a single program along H (block_h >= padded H)")
        if sync == SYNC_GRID and interpreting() and n_h != 1:
            raise ValueError("sync='grid' with several programs along H deadlocks the interpreter")
        if sync == SYNC_GRID and n_h * n_b > n_sm:
            raise ValueError(f"sync='grid' needs n_h*n_b={n_h * n_b} <= {n_sm} SMs")
    elif n_h == 1:
        sync = SYNC_CTA
    elif not interpreting() and n_h * n_b <= n_sm:
        sync = SYNC_GRID
    else:
        sync = SYNC_NONE
    num_warps = cfg.num_warps or 4
    block_k = min(hp, cfg.block_k or 64)
    if block_k < 16 or block_k & (block_k - 1):
        raise ValueError(f"block_k must be a power of two >= 16, got {block_k}")
    poll_name = cfg.poll or ("atomic" if interpreting() else "load")
    if poll_name not in ("load", "atomic"):
        raise ValueError(f"poll must be 'load' or 'atomic', got {cfg.poll!r}")
    poll = 1 if poll_name == "load" else 0
    ksplit = cfg.ksplit or (4 if hp >= 1024 and block_h >= 16 else 1)
    if ksplit < 1 or ksplit & (ksplit - 1) or hp // ksplit < 16:
        raise ValueError(f"ksplit must be a power of two with H/ksplit >= 16 (padded H {hp}), got {ksplit}")
    return Plan(hp, block_h, block_b, n_h, n_b, rows_per_prog, sync, resident, block_k, num_warps, poll, ksplit)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation / cell-state dtype: fp64 stays fp64 (gradcheck), else fp32."""
    return torch.float64 if dtype == torch.float64 else torch.float32
