"""Triton LSTM backward: reverse time loop with fused gate gradients and the dh/dc recurrence.

Program (j, p) owns hidden units ``j*BLOCK_H ..`` (as in the forward) and keeps the
*column* slice W_hh[:, units] (4 x (HP, BLOCK_H), as KSPLIT K-blocks) on chip. Per
stage t = T-1 .. -1 and batch tile, fused:

  phase 2 of step t+1: dh_t = sum_q dx_proj[t+1][:, gate q] (BLOCK_B, HP) @ W_hh[gate q rows, units]
      (every program's gate grads of step t+1; dh_T from scratch on the first stage)
  phase 1 of step t (own units): dh = dy[t] + dh_t; dc = dc_rec + dh * o * (1 - tanh(c_t)^2)
      pre-activation gate grads -> dx_proj[t][:, i/f/g/o columns of the units]; dc_rec = dc * f
  barrier (every program's dx_proj[t] columns are written)

dh_rec / dc_rec live in (B, H) compute-dtype scratch owned slice-wise by one
program; they start as dh_T / dc_T and end as dh0 / dc0.

dW_hh = sum_t dx_proj[t]^T h_{t-1} and dbias = sum dx_proj are *not* accumulated
inside the loop: they are off the latency-bound critical path, so they run after
it as GEMMs over T*B rows with fp32 results (see ``weight_grads``), which reach
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
    DY, G, C, WHH,  # dy (T,B,H); gates (T,B,4H), c (T+1,B,H; row 0 = c0) compute dtype; w_hh (4H,H)
    DX, DH, DC,  # dx_proj (T,B,4H) out; dh_rec, dc_rec (B,H) compute dtype: in dh_T/dc_T, out dh0/dc0
    BAR, ERR,
    t_top, n_steps, T, B, H, rows_per_prog, max_spin,
    HP: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_B: tl.constexpr, SYNC: tl.constexpr,
    RESIDENT: tl.constexpr, BLOCK_K: tl.constexpr, POLL: tl.constexpr, KSPLIT: tl.constexpr,
):
    pid_h = tl.program_id(0)
    pid_b = tl.program_id(1)
    n_h = tl.num_programs(0)
    CDT = DH.dtype.element_ty
    XDT = DX.dtype.element_ty
    H4 = 4 * H

    u = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)  # (BH,)
    u_ok = u < H
    # Column slice W_hh[q*H + k, units] of each gate q as (S, HK, BH) K-blocks: four
    # batched dots of depth HP (one per gate, each KSPLIT independent MMA chains, each
    # with its own accumulator: a dependent chain of HP/16 MMAs per dot, not 4*HP/16)
    # instead of one of depth 4HP keep the staged dx tile 4x smaller.
    HK: tl.constexpr = HP // KSPLIT
    ks = tl.arange(0, KSPLIT)
    kk = tl.arange(0, HK)
    if RESIDENT:
        k3 = ks[:, None, None] * HK + kk[None, :, None]  # (S, HK, 1)
        w_off = k3 * H + u[None, None, :]
        w_m = (k3 < H) & u_ok[None, None, :]
        w_i = tl.load(WHH + w_off, mask=w_m, other=0.0).to(XDT)  # (S, HK, BH)
        w_f = tl.load(WHH + H * H + w_off, mask=w_m, other=0.0).to(XDT)
        w_g = tl.load(WHH + 2 * H * H + w_off, mask=w_m, other=0.0).to(XDT)
        w_o = tl.load(WHH + 3 * H * H + w_off, mask=w_m, other=0.0).to(XDT)

    row_lo = pid_b * rows_per_prog
    row_hi = tl.minimum(row_lo + rows_per_prog, B)
    # Stage t (t = T-1 .. -1), per batch tile: phase 2 of step t+1 (dh_t of the owned
    # units from every program's dx_proj[t+1]) straight into phase 1 of step t (gate
    # grads of the owned units -> dx_proj[t]); then the barrier. A stage reads
    # dx_proj[t+1] and writes dx_proj[t], so "step" mode (one stage per launch) needs
    # no barrier inside a launch. No branches on t: the first stage takes dh_T from DH
    # instead of the dots, the last (t = -1) only stores dh0; masks do the selecting,
    # so the loads that do not wait for other programs are issued first.
    for s in range(n_steps):
        t = t_top - s
        t64 = t.to(tl.int64)
        for r0 in range(row_lo, row_hi, BLOCK_B):
            rows = r0 + tl.arange(0, BLOCK_B)
            r_ok = rows < row_hi
            tt = rows * 0 + t  # (BB,) t as a vector: row masks stay boolean tensors (interpreter too)
            m_u = r_ok[:, None] & u_ok[None, :]
            m_s = (r_ok & (tt >= 0))[:, None] & u_ok[None, :]  # phase 1 runs (t >= 0)
            r_next = r_ok & (tt + 1 < T)  # phase 2 has gate grads to read
            s_off = rows[:, None] * H + u[None, :]  # (BB, BH)
            g_off = t64 * B * H4 + rows[:, None] * H4 + u[None, :]  # gate-i columns at step t
            # ---- phase-1 inputs (own data, independent of the barrier)
            dy = tl.load(DY + t64 * B * H + s_off, mask=m_s, other=0.0).to(CDT)
            dc = tl.load(DC + s_off, mask=m_u, other=0.0)
            g_i = tl.load(G + g_off, mask=m_s, other=0.0)
            g_f = tl.load(G + g_off + H, mask=m_s, other=0.0)
            g_g = tl.load(G + g_off + 2 * H, mask=m_s, other=0.0)
            g_o = tl.load(G + g_off + 3 * H, mask=m_s, other=0.0)
            c_t = tl.load(C + (t64 + 1) * B * H + s_off, mask=m_s, other=0.0)
            c_prev = tl.load(C + t64 * B * H + s_off, mask=m_s, other=0.0)
            # ---- phase 2 of step t+1: dh_t needs every program's gate grads at t+1
            dh = tl.load(DH + s_off, mask=(r_ok & (tt + 1 >= T))[:, None] & u_ok[None, :], other=0.0)  # dh_T at t=T-1
            dx_base = DX + (t64 + 1) * B * H4 + rows[:, None] * H4  # (BB, 1) row starts
            if RESIDENT:
                kh = ks[:, None, None] * HK + kk[None, None, :]  # (S, 1, HK)
                m_k = r_next[None, :, None] & (kh < H)
                dx3 = dx_base[None, :, :] + kh  # (S, BB, HK) pointers into gate i's columns
                # .cg: other programs wrote these columns; read L2, not a stale L1 line.
                for q in tl.static_range(4):
                    dxq = tl.load(dx3 + q * H, mask=m_k, other=0.0, cache_modifier=".cg")  # (S, BB, HK)
                    w_q = w_i if q == 0 else (w_f if q == 1 else (w_g if q == 2 else w_o))
                    dh += tl.sum(tl.dot(dxq, w_q, input_precision="ieee", out_dtype=CDT), axis=0)  # (BB, BH)
            else:
                # Streamed weights: K-chunks over the 4 gates' rows, W re-read from L2.
                for q in range(4):
                    for k0 in range(0, HP, BLOCK_K):
                        kc = k0 + tl.arange(0, BLOCK_K)
                        m_k = r_next[:, None] & (kc < H)[None, :]
                        dxq = tl.load(dx_base + q * H + kc[None, :], mask=m_k, other=0.0,
                                      cache_modifier=".cg")  # (BB, BK)
                        w_c = tl.load(WHH + (q * H + kc[:, None]) * H + u[None, :],
                                      mask=(kc < H)[:, None] & u_ok[None, :], other=0.0).to(XDT)  # (BK, BH)
                        dh += tl.dot(dxq, w_c, input_precision="ieee", out_dtype=CDT)
            tl.store(DH + s_off, dh, mask=(r_ok & (tt < 0))[:, None] & u_ok[None, :])  # t = -1 leaves dh0
            # ---- phase 1 of step t: gate gradients of the owned units
            dh += dy
            tc = tanh(c_t)
            d_o = dh * tc
            dc += dh * g_o * (1.0 - tc * tc)
            d_i = dc * g_g
            d_g = dc * g_i
            d_f = dc * c_prev
            tl.store(DC + s_off, dc * g_f, mask=m_s)
            # Through the activations: sigmoid' = s(1-s), tanh' = 1 - t^2.
            tl.store(DX + g_off, (d_i * g_i * (1.0 - g_i)).to(XDT), mask=m_s)
            tl.store(DX + g_off + H, (d_f * g_f * (1.0 - g_f)).to(XDT), mask=m_s)
            tl.store(DX + g_off + 2 * H, (d_g * (1.0 - g_g * g_g)).to(XDT), mask=m_s)
            tl.store(DX + g_off + 3 * H, (d_o * g_o * (1.0 - g_o)).to(XDT), mask=m_s)
        if SYNC == 1:
            tl.debug_barrier()
        if SYNC == 2:
            max_spin = grid_barrier(BAR + pid_b, (s + 1) * n_h, ERR, max_spin, POLL)


def lstm_backward_recurrence(
    dy: torch.Tensor, dh_T: torch.Tensor, dc_T: torch.Tensor,
    gates: torch.Tensor, c: torch.Tensor, w_hh: torch.Tensor,
    plan: Plan, out: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reverse-time kernel; returns ``(dx_proj (T,B,4H), dh0, dc0)`` (dh0/dc0 in compute dtype).

    ``c`` is the forward's (T+1, B, H) cell-state buffer, row 0 = c0.
    """
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
            dy, gates, c, w_hh, dx, dh, dc, bar, err,
            t_top, steps, T, B, H, plan.rows_per_prog, MAX_SPIN,
            HP=plan.hp, BLOCK_H=plan.block_h, BLOCK_B=plan.block_b, SYNC=plan.sync,
            RESIDENT=plan.resident, BLOCK_K=plan.block_k, POLL=plan.poll, KSPLIT=plan.ksplit,
            num_warps=plan.num_warps, num_stages=1,  # pipelining stages would only multiply shared memory
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
        return lstm_backward_recurrence(dy, dh_T, dc_T, gates, c, w_hh,
                                        dataclasses.replace(plan, sync=SYNC_NONE), {"dx": dx})
    return dx, dh, dc


# torch.mm(..., out_dtype=...) (fp16/bf16 in, fp32 out) exists from torch 2.8 on.
_MM_OUT_DTYPE = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 8)


def _mm_acc(a: torch.Tensor, b: torch.Tensor, cdt: torch.dtype) -> torch.Tensor:
    """``a @ b`` accumulated and returned in ``cdt``.

    On CUDA, 16-bit operands go straight to cuBLAS's tensor-core GEMM with an fp32
    output (``out_dtype``, torch >= 2.8): up-casting to fp32 first would run the
    (4H x T*B) x (T*B x H) product on the fp32 units, ~10x slower (at B=32, H=1024 it
    would cost more per step than the whole cuDNN backward).
    """
    if _MM_OUT_DTYPE and a.is_cuda and a.dtype in (torch.float16, torch.bfloat16) and cdt == torch.float32:
        return torch.mm(a, b, out_dtype=torch.float32)
    return a.to(cdt) @ b.to(cdt)


def weight_grads(dx: torch.Tensor, y: torch.Tensor, chunk_elems: int = 1 << 24) -> tuple[torch.Tensor, torch.Tensor]:
    """``dW_hh = sum_t dx[t]^T h_{t-1}`` (4H, H) and ``dbias = sum_{t,b} dx`` (4H,), fp32-accumulated.

    ``y`` is the forward's (T+1, B, H) buffer (row 0 = h0), so ``y[:-1]`` is h_{t-1} for
    every t. On CUDA with 16-bit inputs this is one tensor-core GEMM; otherwise it is
    chunked over time so the up-cast copies stay below ``chunk_elems`` elements.
    """
    T, B, H4 = dx.shape
    H = H4 // 4
    cdt = compute_dtype(dx.dtype)
    db = dx.reshape(-1, H4).sum(0, dtype=cdt)  # (4H,)
    fused = _MM_OUT_DTYPE and dx.is_cuda and dx.dtype in (torch.float16, torch.bfloat16)  # no up-cast copies
    step = T if fused else max(1, chunk_elems // max(1, B * H4))
    dw = torch.zeros((H4, H), dtype=cdt, device=dx.device)
    for t0 in range(0, T, step):
        t1 = min(T, t0 + step)
        # ((t1-t0)*B, 4H)^T @ ((t1-t0)*B, H): h_{t-1} = y[t] in the (T+1)-row buffer
        dw += _mm_acc(dx[t0:t1].reshape(-1, H4).t(), y[t0:t1].reshape(-1, H), cdt)
    return dw, db
