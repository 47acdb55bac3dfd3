"""``lstm_sequence``: the public, differentiable entry point to the Triton LSTM kernels.

Carrying state across chunks: pass the previous chunk's ``(h_T, c_T)`` as the next
``(h0, c0)``; gradients of ``h_T``/``c_T`` flow back into ``h0``/``c0`` (the backward
starts its dh/dc recurrence from them), so chunk-by-chunk BPTT equals one long call.
Recomputing from checkpoints: the function is deterministic and keeps nothing
between calls, so calling it again from a saved ``(h, c)`` (e.g. under
``torch.utils.checkpoint``) reproduces the same activations and gradients.
"""

from __future__ import annotations

import contextlib

import torch

from .common import LSTMKernelConfig, compute_dtype, interpreting, make_plan
from .lstm_bwd import lstm_backward_recurrence, weight_grads
from .lstm_fwd import lstm_forward
from .reference import check_lstm_args

__all__ = ["lstm_sequence", "LSTMKernelConfig"]

_SUPPORTED = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

# Test hook: when set, called as ``_alloc_hook(name, shape, dtype, device)`` to
# preallocate kernel output buffers (tests poison them with NaN so any element
# the kernels fail to write shows up). None in normal use.
_alloc_hook = None


def _outputs(names: dict[str, tuple[tuple[int, ...], torch.dtype]], device: torch.device) -> dict[str, torch.Tensor]:
    if _alloc_hook is None:
        return {}
    return {n: _alloc_hook(n, shape, dt, device) for n, (shape, dt) in names.items()}


def _on_device(device: torch.device):
    """Make ``device`` current: Triton launches on the current CUDA device (DDP ranks use cuda:N)."""
    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


class _LSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_proj, w_hh, bias, h0, c0, config):  # noqa: D102 (autograd protocol)
        T, B, H4 = x_proj.shape
        H = H4 // 4
        plan = make_plan(B, H, x_proj.device, config, x_proj.dtype)
        cdt = compute_dtype(x_proj.dtype)
        bufs = _outputs({"y": ((T + 1, B, H), x_proj.dtype), "c": ((T + 1, B, H), cdt),
                         "gates": ((T, B, H4), cdt)}, x_proj.device)
        with _on_device(x_proj.device):
            y_ext, c_ext, gates = lstm_forward(x_proj, w_hh, bias, h0, c0, plan, bufs)  # row 0: h0 / c0
        ctx.save_for_backward(w_hh, y_ext, c_ext, gates)
        ctx.plan = plan
        # h_T / c_T are fresh tensors (not views of y / c): autograd treats them as
        # independent outputs whose grads are added into the recurrence start.
        return y_ext[1:], y_ext[-1].clone(), c_ext[-1].to(x_proj.dtype)

    @staticmethod
    def backward(ctx, dy, dh_T, dc_T):  # noqa: D102
        w_hh, y_ext, c_ext, gates = ctx.saved_tensors
        T, B, H = dy.shape
        dt = y_ext.dtype
        bufs = _outputs({"dx": ((T, B, 4 * H), dt)}, dy.device)
        with _on_device(dy.device):
            dx, dh0, dc0 = lstm_backward_recurrence(
                dy.contiguous(), dh_T.contiguous(), dc_T.contiguous(), gates, c_ext, w_hh, ctx.plan, bufs
            )
            dw, db = weight_grads(dx, y_ext)
        return dx, dw.to(dt), db.to(dt), dh0.to(dt), dc0.to(dt), None


def lstm_sequence(
    x_proj: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    *,
    config: LSTMKernelConfig | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One LSTM layer over time with the fused Triton kernels (CUDA, or ``TRITON_INTERPRET=1``).

    Args:
        x_proj: (T, B, 4H) input times ``weight_ih`` (gate order i, f, g, o, as ``torch.nn.LSTM``).
        w_hh: (4H, H) recurrent weights (``weight_hh_l0``).
        bias: (4H,) ``bias_ih_l0 + bias_hh_l0``.
        h0, c0: (B, H) initial state.
        config: optional launch-plan overrides (tile sizes, sync mode); None = automatic.

    Returns:
        ``(y (T, B, H), (h_T, c_T))``, differentiable w.r.t. every tensor argument.

    Raises:
        ValueError: wrong shape, dtype (all must match x_proj; fp16/bf16/fp32/fp64) or
            device (all on x_proj's device, which must be CUDA unless the Triton
            interpreter is enabled), naming the argument.
    """
    T, B, H = check_lstm_args(x_proj, w_hh, bias, h0, c0)
    if x_proj.dtype not in _SUPPORTED:
        raise ValueError(f"x_proj: dtype {x_proj.dtype} not supported (expected one of {list(_SUPPORTED)})")
    if x_proj.device.type != "cuda" and not interpreting():
        raise ValueError(
            f"x_proj: the Triton LSTM needs a CUDA tensor, got device {x_proj.device} "
            "(use sessionforge_kernels.reference.lstm_reference on CPU, or set TRITON_INTERPRET=1)"
        )
    if T == 0:
        # Nothing to run; clones keep the outputs' autograd graph attached to h0/c0.
        return x_proj.new_empty((0, B, H)), (h0.clone(), c0.clone())
    y, h_T, c_T = _LSTMFunction.apply(
        x_proj.contiguous(), w_hh.contiguous(), bias.contiguous(), h0.contiguous(), c0.contiguous(), config
    )
    return y, (h_T, c_T)
