"""Triton LSTM backward: reverse time loop with fused gate gradients and the dh/dc recurrence.

Program (j, p) owns hidden units ``j*BLOCK_H ..`` (as in the forward) and keeps the
*column* slice W_hh[:, units] (4 x (HP, BLOCK_H)) in registers. Per step t, descending:

  phase 1 (own units): dh = dy[t] + dh_rec; dc = dc_rec + dh * o * (1 - tanh(c_t)^2)
      pre-activation gate grads -> dx_proj[t][:, i/f/g/o columns of the units]
      dc_rec = dc * f
  barrier (every program's dx_proj[t] columns are written)
  phase 2: dh_rec = sum_q dx_proj[t][:, gate q] (BLOCK_B, HP) @ W_hh[gate q rows, units] (HP, BLOCK_H)

dh_rec / dc_rec live in (B, H) compute-dtype scratch owned slice-wise by one
program; they start as dh_T / dc_T and end as dh0 / dc0.

dW_hh = sum_t dx_proj[t]^T h_{t-1} and dbias = sum dx_proj are *not* accumulated
inside the loop: they are off the latency-bound critical path, so they run after
it as fp32-accumulating GEMMs over T*B rows (see ``weight_grads``), which reach
near-peak throughput instead of adding a (4H x H) update to every step.
"""

from __future__ import annotations

import dataclasses
import warnings

import torch
import triton
import triton.language as tl

from .common import MAX_SPIN, SYNC_CTA, SYNC_GRID, SYNC_NONE, Plan, compute_dtype, grid_barrier, tanh


# Step indices vary per launch in "step" mode: no int specialisation (=1, %16), one compile.
@triton.jit(do_not_specialize=["t_top", "n_steps", "max_spin"])
def _lstm_bwd_kernel(
    DY, G, C, C0, WHH,  # dy (T,B,H); gates, c (T,B,4H)/(T,B,H) compute dtype; c0 (B,H); w_hh (4H,H)
    DX, DH, DC,  # dx_proj (T,B,4H) out; dh_rec, dc_rec (B,H) compute-dtype scratch (in: dh_T, dc_T)
    BAR, ERR,
    t_top, n_steps, T, B, H, rows_per_prog, max_spin,
    HP: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_B: tl.constexpr, SYNC: tl.constexpr,
    RESIDENT: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_h = tl.program_id(0)
    pid_b = tl.program_id(1)
    n_h = tl.num_programs(0)
    CDT = DH.dtype.element_ty
    XDT = DX.dtype.element_ty
    H4 = 4 * H

    u = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)  # (BH,)
    u_ok = u < H
    # Column slice W_hh[q*H + k, units] of each gate q as a (HP, BH) matrix: four dots
    # of depth HP instead of one of depth 4HP keep the staged dx tile 4x smaller.
    if RESIDENT:
        k = tl.arange(0, HP)
        w_off = k[:, None] * H + u[None, :]
        w_m = (k < H)[:, None] & u_ok[None, :]
        w_i = tl.load(WHH + w_off, mask=w_m, other=0.0).to(XDT)  # (HP, BH)
        w_f = tl.load(WHH + H * H + w_off, mask=w_m, other=0.0).to(XDT)
        w_g = tl.load(WHH + 2 * H * H + w_off, mask=w_m, other=0.0).to(XDT)
        w_o = tl.load(WHH + 3 * H * H + w_off, mask=w_m, other=0.0).to(XDT)

    row_lo = pid_b * rows_per_prog
    row_hi = tl.minimum(row_lo + rows_per_prog, B)
    # Stage t: phase 2 of step t+1 (dh_t from dx_proj[t+1]) then phase 1 of step t.
    # Phase 2 first means a launch never reads gate grads written in the same launch
    # without a barrier between them, so "step" mode (one stage per launch) is race-free.
    for s in range(n_steps):
        t = t_top - s
        t64 = t.to(tl.int64)
        # ---- phase 2 of step t+1: dh_t for the owned units needs every program's gate grads
        if t + 1 < T:
            for r0 in range(row_lo, row_hi, BLOCK_B):
                rows = r0 + tl.arange(0, BLOCK_B)
                r_ok = rows < row_hi
                dx_base = DX + (t64 + 1) * B * H4 + rows[:, None] * H4  # (BB, 1) row starts
                if RESIDENT:
                    k = tl.arange(0, HP)
                    m_k = r_ok[:, None] & (k < H)[None, :]
                    # .cg: other programs wrote these columns; read L2, not a stale L1 line.
                    dx = tl.load(dx_base + k[None, :], mask=m_k, other=0.0, cache_modifier=".cg")  # (BB, HP)
                    dh_prev = tl.dot(dx, w_i, input_precision="ieee", out_dtype=CDT)  # (BB, BH)
                    dx = tl.load(dx_base + H + k[None, :], mask=m_k, other=0.0, cache_modifier=".cg")
                    dh_prev += tl.dot(dx, w_f, input_precision="ieee", out_dtype=CDT)
                    dx = tl.load(dx_base + 2 * H + k[None, :], mask=m_k, other=0.0, cache_modifier=".cg")
                    dh_prev += tl.dot(dx, w_g, input_precision="ieee", out_dtype=CDT)
                    dx = tl.load(dx_base + 3 * H + k[None, :], mask=m_k, other=0.0, cache_modifier=".cg")
                    dh_prev += tl.dot(dx, w_o, input_precision="ieee", out_dtype=CDT)
                else:
                    # Streamed weights: K-chunks over the 4 gates' rows, W re-read from L2.
                    dh_prev = tl.zeros((BLOCK_B, BLOCK_H), dtype=CDT)
                    for q in range(4):
                        for k0 in range(0, HP, BLOCK_K):
                            kc = k0 + tl.arange(0, BLOCK_K)
                            m_k = r_ok[:, None] & (kc < H)[None, :]
                            dx = tl.load(dx_base + q * H + kc[None, :], mask=m_k, other=0.0,
                                         cache_modifier=".cg")  # (BB, BK)
                            w_c = tl.load(WHH + (q * H + kc[:, None]) * H + u[None, :],
                                          mask=(kc < H)[:, None] & u_ok[None, :], other=0.0).to(XDT)  # (BK, BH)
                            dh_prev += tl.dot(dx, w_c, input_precision="ieee", out_dtype=CDT)
                tl.store(DH + rows[:, None] * H + u[None, :], dh_prev, mask=r_ok[:, None] & u_ok[None, :])
            # Phase 1 reads dh_rec in another thread layout than phase 2 wrote it
            # (in every mode, "step" included: both phases run in the same launch).
            tl.debug_barrier()
        # ---- phase 1 of step t: gate gradients of the owned units
        if t >= 0:
            for r0 in range(row_lo, row_hi, BLOCK_B):
                rows = r0 + tl.arange(0, BLOCK_B)
                r_ok = rows < row_hi
                m_u = r_ok[:, None] & u_ok[None, :]
                s_off = rows[:, None] * H + u[None, :]  # (BB, BH)
                g_off = t64 * B * H4 + rows[:, None] * H4 + u[None, :]  # gate-i columns at step t

                dh = tl.load(DY + t64 * B * H + s_off, mask=m_u, other=0.0).to(CDT)
                dh += tl.load(DH + s_off, mask=m_u, other=0.0)
                dc = tl.load(DC + s_off, mask=m_u, other=0.0)
                g_i = tl.load(G + g_off, mask=m_u, other=0.0)
                g_f = tl.load(G + g_off + H, mask=m_u, other=0.0)
                g_g = tl.load(G + g_off + 2 * H, mask=m_u, other=0.0)
                g_o = tl.load(G + g_off + 3 * H, mask=m_u, other=0.0)
                c_t = tl.load(C + t64 * B * H + s_off, mask=m_u, other=0.0)
                if t == 0:
                    c_prev = tl.load(C0 + s_off, mask=m_u, other=0.0).to(CDT)
                else:
                    c_prev = tl.load(C + (t64 - 1) * B * H + s_off, mask=m_u, other=0.0)

                tc = tanh(c_t)
                d_o = dh * tc
                dc += dh * g_o * (1.0 - tc * tc)
                d_i = dc * g_g
                d_g = dc * g_i
                d_f = dc * c_prev
                tl.store(DC + s_off, dc * g_f, mask=m_u)
                # Through the activations: sigmoid' = s(1-s), tanh' = 1 - t^2.
                tl.store(DX + g_off, (d_i * g_i * (1.0 - g_i)).to(XDT), mask=m_u)
                tl.store(DX + g_off + H, (d_f * g_f * (1.0 - g_f)).to(XDT), mask=m_u)
                tl.store(DX + g_off + 2 * H, (d_g * (1.0 - g_g * g_g)).to(XDT), mask=m_u)
                tl.store(DX + g_off + 3 * H, (d_o * g_o * (1.0 - g_o)).to(XDT), mask=m_u)
            if SYNC == 1:
                tl.debug_barrier()
            if SYNC == 2:
                grid_barrier(BAR + pid_b, (s + 1) * n_h, ERR, max_spin)


def lstm_backward_recurrence(
    dy: torch.Tensor, dh_T: torch.Tensor, dc_T: torch.Tensor,
    gates: torch.Tensor, c: torch.Tensor, c0: torch.Tensor, w_hh: torch.Tensor,
    plan: Plan, out: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reverse-time kernel; returns ``(dx_proj (T,B,4H), dh0, dc0)`` (dh0/dc0 in compute dtype)."""
    T, B, H = dy.shape
    cdt = compute_dtype(dy.dtype)
    out = out or {}
    dx = out["dx"] if "dx" in out else torch.empty((T, B, 4 * H), dtype=dy.dtype, device=dy.device)
    dh = dh_T.to(cdt).clone().contiguous()  # (B, H) dh_rec; becomes dh0
    dc = dc_T.to(cdt).clone().contiguous()  # (B, H) dc_rec; becomes dc0
    err = torch.zeros(1, dtype=torch.int32, device=dy.device)
    bar = torch.zeros(plan.n_b, dtype=torch.int32, device=dy.device)
    grid = (plan.n_h, plan.n_b)

    def launch(t_top: int, steps: int) -> None:
        _lstm_bwd_kernel[grid](
            dy, gates, c, c0, w_hh, dx, dh, dc, bar, err,
            t_top, steps, T, B, H, plan.rows_per_prog, MAX_SPIN,
            HP=plan.hp, BLOCK_H=plan.block_h, BLOCK_B=plan.block_b, SYNC=plan.sync,
            RESIDENT=plan.resident, BLOCK_K=plan.block_k, num_warps=plan.num_warps,
        )

    # Stages T-1 .. -1: stage -1 only turns dx_proj[0] into dh0.
    if plan.sync == SYNC_NONE:
        for t in range(T - 1, -2, -1):
            launch(t, 1)
    else:
        assert plan.sync in (SYNC_CTA, SYNC_GRID)
        launch(T - 1, T + 1)
    if plan.sync == SYNC_GRID and int(err.item()) != 0:
        # See lstm_forward: redo without the persistent barrier (dh_T/dc_T are untouched).
        warnings.warn("LSTM backward: grid barrier timed out; rerunning with one launch per step")
        return lstm_backward_recurrence(dy, dh_T, dc_T, gates, c, c0, w_hh,
                                        dataclasses.replace(plan, sync=SYNC_NONE), {"dx": dx})
    return dx, dh, dc


def weight_grads(dx: torch.Tensor, y: torch.Tensor, h0: torch.Tensor, chunk_elems: int = 1 << 24) -> tuple[torch.Tensor, torch.Tensor]:
    """``dW_hh = sum_t dx[t]^T h_{t-1}`` (4H, H) and ``dbias = sum_{t,b} dx`` (4H,), fp32-accumulated.

    Chunked over time so the fp32 copies stay below ``chunk_elems`` elements.
    """
    T, B, H4 = dx.shape
    H = H4 // 4
    cdt = compute_dtype(dx.dtype)
    dw = torch.zeros((H4, H), dtype=cdt, device=dx.device)
    db = torch.zeros((H4,), dtype=cdt, device=dx.device)
    step = max(1, chunk_elems // max(1, B * H4))
    for t0 in range(0, T, step):
        t1 = min(T, t0 + step)
        d = dx[t0:t1].reshape(-1, H4).to(cdt)  # ((t1-t0)*B, 4H)
        h_prev = torch.cat([h0[None], y[t0:t1 - 1]]) if t0 == 0 else y[t0 - 1:t1 - 1]  # (t1-t0, B, H)
        dw.addmm_(d.t(), h_prev.reshape(-1, H).to(cdt))
        db += d.sum(0)
    return dw, db
