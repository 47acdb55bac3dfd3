"""The one door from the model to the LSTM kernels.

Everything in ``sessionforge.model`` that runs an LSTM over time calls
:func:`lstm_layer` (input already projected) or :func:`lstm` (projection included);
nothing else imports ``sessionforge_kernels``. ``impl`` picks the implementation:

- ``"auto"``: the Triton kernel on CUDA, the torch reference elsewhere;
- ``"torch"``: ``sessionforge_kernels.reference.lstm_reference`` (plain autograd);
- ``"triton"``: ``sessionforge_kernels.lstm_sequence`` (CUDA, or ``TRITON_INTERPRET=1``);
- ``"cudnn"``: ``torch.lstm`` (cuDNN on CUDA), the speed baseline.

Set it from the command line with ``--set model.integrator.lstm_impl=...``.

Only ``"triton"`` needs the triton package, and it is imported only when that
implementation runs: ``"torch"`` and ``"auto"`` off CUDA work without it. Without
triton, ``"auto"`` on CUDA falls back to the reference and ``"triton"`` raises
:class:`KernelUnavailableError` naming triton.
"""

from __future__ import annotations

import functools
from typing import Callable

import torch

from sessionforge.errors import SessionforgeError

IMPLS = ("auto", "torch", "triton", "cudnn")


class KernelUnavailableError(SessionforgeError):
    """The requested LSTM implementation cannot run here."""


def resolve_impl(impl: str, device: torch.device) -> str:
    """Map ``auto`` to a concrete implementation for ``device``."""
    if impl not in IMPLS:
        raise KernelUnavailableError(f"unknown lstm_impl {impl!r} (choose one of {', '.join(IMPLS)})")
    if impl == "auto":
        return "triton" if device.type == "cuda" and _triton_available() else "torch"
    return impl


@functools.cache
def _triton_available() -> bool:
    # Cached: "auto" asks once per layer per step, and a failed import is not cached by Python.
    try:
        _triton_lstm()
    except KernelUnavailableError:
        return False
    return True


def _triton_lstm() -> Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]]:
    """``sessionforge_kernels.lstm_sequence`` (imports triton), or an error naming what is missing."""
    try:
        from sessionforge_kernels import lstm_sequence
    except ImportError as exc:  # the kernels' message names the missing package (triton)
        raise KernelUnavailableError(f"lstm_impl 'triton' is not available: {exc}") from None
    return lstm_sequence


def lstm_layer(
    x_proj: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    impl: str = "auto",
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One LSTM layer over time from a projected input.

    x_proj (T, B, 4H) = x @ w_ih.T (gate order i, f, g, o); w_hh (4H, H); bias (4H,);
    h0, c0 (B, H). Returns y (T, B, H) and (h_T, c_T).
    """
    # Under autocast x_proj comes out in bf16 while the weights stay fp32; the
    # kernels want one dtype, so everything follows x_proj.
    dt = x_proj.dtype
    w_hh, bias, h0, c0 = w_hh.to(dt), bias.to(dt), h0.to(dt), c0.to(dt)
    which = resolve_impl(impl, x_proj.device)
    if which == "torch":
        from sessionforge_kernels.reference import lstm_reference

        return lstm_reference(x_proj, w_hh, bias, h0, c0)
    if which == "triton":
        return _triton_lstm()(x_proj, w_hh, bias, h0, c0)
    # cuDNN wants the unprojected input; feed x_proj through an identity input weight.
    eye = torch.eye(w_hh.shape[0], dtype=dt, device=x_proj.device)
    return _torch_lstm(x_proj, eye, w_hh, bias, h0, c0)


def lstm(
    x: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
    impl: str = "auto",
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One LSTM layer over time from the raw input x (T, B, D); w_ih (4H, D)."""
    which = resolve_impl(impl, x.device)
    if which == "cudnn":
        dt = x.dtype
        return _torch_lstm(x, w_ih.to(dt), w_hh.to(dt), bias.to(dt), h0.to(dt), c0.to(dt))
    x_proj = x @ w_ih.t().to(x.dtype)  # (T, B, 4H): one big matmul, parallel over time
    return lstm_layer(x_proj, w_hh, bias, h0, c0, impl=which)


def _torch_lstm(
    x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """torch.lstm (cuDNN on CUDA) for one layer; the summed bias goes in b_ih, b_hh is zero."""
    if x.shape[0] == 0:
        return x.new_empty((0, x.shape[1], w_hh.shape[1])), (h0, c0)
    params = [w_ih, w_hh, bias, torch.zeros_like(bias)]
    y, h, c = torch.lstm(x, (h0[None], c0[None]), params, True, 1, 0.0, torch.is_grad_enabled(), False, False)
    return y, (h[0], c[0])
