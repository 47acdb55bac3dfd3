"""Triton LSTM forward: recurrent matmul + gates + state update fused, many steps per launch.

Program (j, p) owns hidden units ``j*BLOCK_H .. (j+1)*BLOCK_H`` for the batch rows
``p*rows_per_prog ..``. It loads its slice of W_hh once, as a (HP, 4*BLOCK_H)
matrix whose columns are the i, f, g, o rows feeding its units, and keeps it on chip
while it walks ``n_steps`` time steps. Per step and batch tile:

    gates = h_{t-1} (BLOCK_B, HP) @ W_slice (HP, 4*BLOCK_H) + x_proj[t] + bias
    c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)

Saved for backward (memory over recompute: the backward would otherwise need the
row slice of W_hh on chip in addition to its column slice): the activated gates
(T, B, 4H) and c (T+1, B, H; row 0 = c0) in the compute dtype (fp32, fp64 for fp64
inputs).
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
import triton
import triton.language as tl

from .common import MAX_SPIN, SYNC_CTA, SYNC_GRID, SYNC_NONE, Plan, compute_dtype, grid_barrier, sigmoid, tanh


# Step indices vary per launch in "step" mode: no int specialisation (=1, %16), one compile.
@triton.jit(do_not_specialize=["t_start", "n_steps", "max_spin"])
def _lstm_fwd_kernel(
    XP, WHH, BIAS,  # x_proj (T,B,4H), w_hh (4H,H), bias (4H,)
    Y, C, G,  # y (T+1,B,H) input dtype, c (T+1,B,H) compute dtype: row 0 = h0 / c0; gates (T,B,4H)
    BAR, ERR,  # int32 barrier counters (n_b,), int32 error flag (1,)
    t_start, n_steps, B, H, rows_per_prog, max_spin,
    HP: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_B: tl.constexpr, SYNC: tl.constexpr,
    RESIDENT: tl.constexpr, BLOCK_K: tl.constexpr, POLL: tl.constexpr,
):
    pid_h = tl.program_id(0)
    pid_b = tl.program_id(1)
    n_h = tl.num_programs(0)
    CDT = C.dtype.element_ty
    H4 = 4 * H

    u = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)  # (BH,) hidden units owned here
    u_ok = u < H
    # W slice, transposed: column q*BLOCK_H + v holds row q*H + u_v of w_hh.
    col = tl.arange(0, 4 * BLOCK_H)
    w_row = (col // BLOCK_H) * H + pid_h * BLOCK_H + col % BLOCK_H
    w_ok = (pid_h * BLOCK_H + col % BLOCK_H) < H
    # (A K-split batched dot, as the backward uses, measured slower here on an H100: the
    # forward's single dot already spreads its 4*BLOCK_H columns over the warps.)
    if RESIDENT:  # loaded once, kept on chip for all n_steps steps
        k = tl.arange(0, HP)
        w = tl.load(WHH + w_row[None, :] * H + k[:, None], mask=(k < H)[:, None] & w_ok[None, :], other=0.0)  # (HP, 4BH)

    b_i = tl.load(BIAS + u, mask=u_ok, other=0.0).to(CDT)
    b_f = tl.load(BIAS + H + u, mask=u_ok, other=0.0).to(CDT)
    b_g = tl.load(BIAS + 2 * H + u, mask=u_ok, other=0.0).to(CDT)
    b_o = tl.load(BIAS + 3 * H + u, mask=u_ok, other=0.0).to(CDT)

    row_lo = pid_b * rows_per_prog
    row_hi = tl.minimum(row_lo + rows_per_prog, B)
    for s in range(n_steps):
        t = t_start + s
        t64 = t.to(tl.int64)  # T*B*4H overflows int32 at T=4096, B=128, H=1024
        for r0 in range(row_lo, row_hi, BLOCK_B):
            rows = r0 + tl.arange(0, BLOCK_B)  # (BB,) padded to >= 16 for tl.dot
            r_ok = rows < row_hi
            m_u = r_ok[:, None] & u_ok[None, :]
            # Loads that do not depend on the other programs go first, so their memory
            # latency overlaps the h_{t-1} exchange (no branch: h0 / c0 are row 0 of Y / C).
            x_off = t64 * B * H4 + rows[:, None] * H4 + u[None, :]  # (BB, BH) gate-i columns
            x_i = tl.load(XP + x_off, mask=m_u, other=0.0)
            x_f = tl.load(XP + x_off + H, mask=m_u, other=0.0)
            x_g = tl.load(XP + x_off + 2 * H, mask=m_u, other=0.0)
            x_o = tl.load(XP + x_off + 3 * H, mask=m_u, other=0.0)
            s_off = rows[:, None] * H + u[None, :]  # (BB, BH) offset inside one (B, H) step
            c_prev = tl.load(C + t64 * B * H + s_off, mask=m_u, other=0.0)
            # h_{t-1} = Y[t], written by every program of the batch group: ``.cg`` reads
            # through L2, never a stale L1 line of data another SM wrote.
            h_base = Y + t64 * B * H + rows[:, None] * H
            if RESIDENT:
                k = tl.arange(0, HP)
                h_prev = tl.load(h_base + k[None, :], mask=r_ok[:, None] & (k < H)[None, :], other=0.0,
                                 cache_modifier=".cg")  # (BB, HP)
                acc = tl.dot(h_prev, w, input_precision="ieee", out_dtype=CDT)  # (BB, 4BH)
            else:
                # Streamed weights (large H / fp32): K-chunks of W re-read from L2 every step.
                acc = tl.zeros((BLOCK_B, 4 * BLOCK_H), dtype=CDT)
                for k0 in range(0, HP, BLOCK_K):
                    kc = k0 + tl.arange(0, BLOCK_K)
                    h_prev = tl.load(h_base + kc[None, :], mask=r_ok[:, None] & (kc < H)[None, :], other=0.0,
                                     cache_modifier=".cg")  # (BB, BK)
                    w_c = tl.load(WHH + w_row[None, :] * H + kc[:, None],
                                  mask=(kc < H)[:, None] & w_ok[None, :], other=0.0)  # (BK, 4BH)
                    acc += tl.dot(h_prev, w_c, input_precision="ieee", out_dtype=CDT)
            # Columns are (gate q = 2*q1 + q0, unit v): split into the four gates.
            acc = tl.permute(tl.reshape(acc, (BLOCK_B, 2, 2, BLOCK_H)), (0, 3, 1, 2))
            even, odd = tl.split(acc)  # q0 = 0 -> (i, g), q0 = 1 -> (f, o)
            a_i, a_g = tl.split(even)
            a_f, a_o = tl.split(odd)
            g_i = sigmoid(a_i + x_i.to(CDT) + b_i[None, :])
            g_f = sigmoid(a_f + x_f.to(CDT) + b_f[None, :])
            g_g = tanh(a_g + x_g.to(CDT) + b_g[None, :])
            g_o = sigmoid(a_o + x_o.to(CDT) + b_o[None, :])
            c = g_f * c_prev + g_i * g_g
            h = g_o * tanh(c)

            tl.store(G + x_off, g_i, mask=m_u)
            tl.store(G + x_off + H, g_f, mask=m_u)
            tl.store(G + x_off + 2 * H, g_g, mask=m_u)
            tl.store(G + x_off + 3 * H, g_o, mask=m_u)
            tl.store(C + (t64 + 1) * B * H + s_off, c, mask=m_u)
            tl.store(Y + (t64 + 1) * B * H + s_off, h.to(Y.dtype.element_ty), mask=m_u)
        if SYNC == 1:
            tl.debug_barrier()
        if SYNC == 2:
            max_spin = grid_barrier(BAR + pid_b, (s + 1) * n_h, ERR, max_spin, POLL)


def lstm_forward(
    x_proj: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
    plan: Plan, out: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the forward kernel; inputs must be contiguous and validated.

    Returns ``(y (T+1,B,H) input dtype, c (T+1,B,H) compute dtype, gates (T,B,4H) compute dtype)``
    where row 0 of ``y`` / ``c`` holds h0 / c0 (so ``y[1:]`` is the output sequence and
    ``y[:-1]`` the h_{t-1} every step read). ``out`` may supply preallocated buffers
    (tests poison them with NaN).
    """
    T, B, H4 = x_proj.shape
    H = H4 // 4
    cdt = compute_dtype(x_proj.dtype)
    out = out or {}
    y = out["y"] if "y" in out else torch.empty((T + 1, B, H), dtype=x_proj.dtype, device=x_proj.device)
    c = out["c"] if "c" in out else torch.empty((T + 1, B, H), dtype=cdt, device=x_proj.device)
    g = out["gates"] if "gates" in out else torch.empty((T, B, H4), dtype=cdt, device=x_proj.device)
    y[0].copy_(h0)
    c[0].copy_(c0)
    err = torch.zeros(1, dtype=torch.int32, device=x_proj.device)
    bar = torch.zeros(plan.n_b, dtype=torch.int32, device=x_proj.device)  # one launch uses it at most
    grid = (plan.n_h, plan.n_b)

    def launch(t0: int, steps: int) -> None:
        _lstm_fwd_kernel[grid](
            x_proj, w_hh, bias, y, c, g, bar, err,
            t0, steps, B, H, plan.rows_per_prog, MAX_SPIN,
            HP=plan.hp, BLOCK_H=plan.block_h, BLOCK_B=plan.block_b, SYNC=plan.sync,
            RESIDENT=plan.resident, BLOCK_K=plan.block_k, POLL=plan.poll,
            num_warps=plan.num_warps, num_stages=1,  # latency-bound loop: nothing to software-pipeline
        )

    if plan.sync == SYNC_NONE:
        for t in range(T):
            launch(t, 1)
    else:
        assert plan.sync in (SYNC_CTA, SYNC_GRID)
        launch(0, T)
    if plan.sync == SYNC_GRID and int(err.item()) != 0:  # the only host sync, grid mode only
        # Some program never became resident (e.g. SMs held by a concurrent NCCL kernel):
        # the outputs are garbage; redo the call one launch per step, which cannot hang.
        warnings.warn("LSTM forward: grid barrier timed out; rerunning with one launch per step")
        return lstm_forward(x_proj, w_hh, bias, h0, c0, dataclasses.replace(plan, sync=SYNC_NONE),
                            {"y": y, "c": c, "gates": g})
    return y, c, g
