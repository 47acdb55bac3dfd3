"""Triton LSTM forward: recurrent matmul + gates + state update fused, many steps per launch.

Program (j, p) owns hidden units ``j*BLOCK_H .. (j+1)*BLOCK_H`` for the batch rows
``p*rows_per_prog ..``. It loads its slice of W_hh once, as a (HP, 4*BLOCK_H)
matrix whose columns are the i, f, g, o rows feeding its units, and keeps it in
registers while it walks ``n_steps`` time steps. Per step and batch tile:

    gates = h_{t-1} (BLOCK_B, HP) @ W_slice (HP, 4*BLOCK_H) + x_proj[t] + bias
    c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)

Saved for backward (memory over recompute: the backward would otherwise need the
row slice of W_hh on chip in addition to its column slice): the activated gates
(T, B, 4H) and c (T, B, H) in the compute dtype (fp32, fp64 for fp64 inputs).
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
import triton
import triton.language as tl

from .common import MAX_SPIN, SYNC_CTA, SYNC_GRID, SYNC_NONE, Plan, compute_dtype, grid_barrier, sigmoid, tanh


@triton.jit
def _load_h_prev(H0, Y, t, t64, rows, r_ok, k, B, H):
    """h_{t-1}[rows, k]: h0 at t = 0, else y[t-1] (written by every program of the batch group).

    ``.cg`` reads through L2, never a stale L1 line of data another SM wrote.
    """
    m = r_ok[:, None] & (k < H)[None, :]
    if t == 0:
        h = tl.load(H0 + rows[:, None] * H + k[None, :], mask=m, other=0.0)
    else:
        h = tl.load(Y + (t64 - 1) * B * H + rows[:, None] * H + k[None, :], mask=m, other=0.0, cache_modifier=".cg")
    return h


# Step indices vary per launch in "step" mode: no int specialisation (=1, %16), one compile.
@triton.jit(do_not_specialize=["t_start", "n_steps", "max_spin"])
def _lstm_fwd_kernel(
    XP, WHH, BIAS, H0, C0,  # x_proj (T,B,4H), w_hh (4H,H), bias (4H,), h0/c0 (B,H)
    Y, C, G,  # y (T,B,H) input dtype; c (T,B,H) and gates (T,B,4H) compute dtype
    BAR, ERR,  # int32 barrier counters (n_b,), int32 error flag (1,)
    t_start, n_steps, B, H, rows_per_prog, max_spin,
    HP: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_B: tl.constexpr, SYNC: tl.constexpr,
    RESIDENT: tl.constexpr, BLOCK_K: tl.constexpr,
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
            if RESIDENT:
                h_prev = _load_h_prev(H0, Y, t, t64, rows, r_ok, tl.arange(0, HP), B, H)  # (BB, HP)
                acc = tl.dot(h_prev, w, input_precision="ieee", out_dtype=CDT)  # (BB, 4BH)
            else:
                # Streamed weights (large H / fp32): K-chunks of W re-read from L2 every step.
                acc = tl.zeros((BLOCK_B, 4 * BLOCK_H), dtype=CDT)
                for k0 in range(0, HP, BLOCK_K):
                    kc = k0 + tl.arange(0, BLOCK_K)
                    h_prev = _load_h_prev(H0, Y, t, t64, rows, r_ok, kc, B, H)  # (BB, BK)
                    w_c = tl.load(WHH + w_row[None, :] * H + kc[:, None],
                                  mask=(kc < H)[:, None] & w_ok[None, :], other=0.0)  # (BK, 4BH)
                    acc += tl.dot(h_prev, w_c, input_precision="ieee", out_dtype=CDT)
            # Columns are (gate q = 2*q1 + q0, unit v): split into the four gates.
            acc = tl.permute(tl.reshape(acc, (BLOCK_B, 2, 2, BLOCK_H)), (0, 3, 1, 2))
            even, odd = tl.split(acc)  # q0 = 0 -> (i, g), q0 = 1 -> (f, o)
            a_i, a_g = tl.split(even)
            a_f, a_o = tl.split(odd)

            x_off = t64 * B * H4 + rows[:, None] * H4 + u[None, :]  # (BB, BH) gate-i columns
            a_i += tl.load(XP + x_off, mask=m_u, other=0.0).to(CDT) + b_i[None, :]
            a_f += tl.load(XP + x_off + H, mask=m_u, other=0.0).to(CDT) + b_f[None, :]
            a_g += tl.load(XP + x_off + 2 * H, mask=m_u, other=0.0).to(CDT) + b_g[None, :]
            a_o += tl.load(XP + x_off + 3 * H, mask=m_u, other=0.0).to(CDT) + b_o[None, :]
            g_i = sigmoid(a_i)
            g_f = sigmoid(a_f)
            g_g = tanh(a_g)
            g_o = sigmoid(a_o)

            s_off = rows[:, None] * H + u[None, :]  # (BB, BH) offset inside one (B, H) step
            if t == 0:
                c_prev = tl.load(C0 + s_off, mask=m_u, other=0.0).to(CDT)
            else:
                c_prev = tl.load(C + (t64 - 1) * B * H + s_off, mask=m_u, other=0.0)
            c = g_f * c_prev + g_i * g_g
            h = g_o * tanh(c)

            tl.store(G + x_off, g_i, mask=m_u)
            tl.store(G + x_off + H, g_f, mask=m_u)
            tl.store(G + x_off + 2 * H, g_g, mask=m_u)
            tl.store(G + x_off + 3 * H, g_o, mask=m_u)
            tl.store(C + t64 * B * H + s_off, c, mask=m_u)
            tl.store(Y + t64 * B * H + s_off, h.to(Y.dtype.element_ty), mask=m_u)
        if SYNC == 1:
            tl.debug_barrier()
        if SYNC == 2:
            grid_barrier(BAR + pid_b, (s + 1) * n_h, ERR, max_spin)


def lstm_forward(
    x_proj: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
    plan: Plan, out: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the forward kernel; inputs must be contiguous and validated.

    Returns ``(y (T,B,H) input dtype, c (T,B,H) compute dtype, gates (T,B,4H) compute dtype)``.
    ``out`` may supply preallocated buffers (tests poison them with NaN).
    """
    T, B, H4 = x_proj.shape
    H = H4 // 4
    cdt = compute_dtype(x_proj.dtype)
    out = out or {}
    y = out["y"] if "y" in out else torch.empty((T, B, H), dtype=x_proj.dtype, device=x_proj.device)
    c = out["c"] if "c" in out else torch.empty((T, B, H), dtype=cdt, device=x_proj.device)
    g = out["gates"] if "gates" in out else torch.empty((T, B, H4), dtype=cdt, device=x_proj.device)
    err = torch.zeros(1, dtype=torch.int32, device=x_proj.device)
    bar = torch.zeros(plan.n_b, dtype=torch.int32, device=x_proj.device)  # one launch uses it at most
    grid = (plan.n_h, plan.n_b)

    def launch(t0: int, steps: int) -> None:
        _lstm_fwd_kernel[grid](
            x_proj, w_hh, bias, h0, c0, y, c, g, bar, err,
            t0, steps, B, H, plan.rows_per_prog, MAX_SPIN,
            HP=plan.hp, BLOCK_H=plan.block_h, BLOCK_B=plan.block_b, SYNC=plan.sync,
            RESIDENT=plan.resident, BLOCK_K=plan.block_k, num_warps=plan.num_warps,
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
