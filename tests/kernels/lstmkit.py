"""Shared helpers for the kernel tests: random LSTM arguments and a loss that touches every output."""

from __future__ import annotations

import torch

from sessionforge_kernels.common import interpreting

# Kernels run on CPU tensors through the interpreter (CI); with TRITON_INTERPRET=0
# on a CUDA machine the same small tests run compiled on the GPU.
DEVICE = "cuda" if torch.cuda.is_available() and not interpreting() else "cpu"


def make_args(T: int, B: int, H: int, dtype=torch.float32, device=DEVICE, seed: int = 0, w_scale: float = 0.5):
    """Random (x_proj, w_hh, bias, h0, c0) leaves with requires_grad, scaled so gates are not saturated."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(T, B, 4 * H), (4 * H, H), (4 * H,), (B, H), (B, H)]
    scales = [1.0, w_scale / H**0.5 * 2, 0.5, 0.8, 0.8]
    return [
        (torch.randn(s, generator=g, dtype=torch.float64) * k).to(dtype=dtype, device=device).requires_grad_()
        for s, k in zip(shapes, scales)
    ]


def clone_args(args):
    """Independent leaf copies (so two implementations accumulate separate grads)."""
    return [a.detach().clone().requires_grad_() for a in args]


def run_and_grad(fn, args, seed: int = 1):
    """Run fn, backprop a random weighting of (y, h_T, c_T); return outputs and the 5 grads."""
    y, (h, c) = fn(*args)
    g = torch.Generator().manual_seed(seed)
    wy, wh, wc = (torch.randn(t.shape, generator=g, dtype=torch.float64).to(t) for t in (y, h, c))
    ((y * wy).sum() + (h * wh).sum() + (c * wc).sum()).backward()
    return (y.detach(), h.detach(), c.detach()), [a.grad for a in args]


def nn_lstm_as_fn(args):
    """torch.nn.LSTM with the same weights, wrapped to take x_proj (identity weight_ih)."""
    x_proj, w_hh, bias, h0, c0 = args
    H = w_hh.shape[1]
    m = torch.nn.LSTM(4 * H, H).to(dtype=x_proj.dtype, device=x_proj.device)
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.eye(4 * H, dtype=x_proj.dtype))  # so x @ weight_ih.T == x_proj
        m.weight_hh_l0.copy_(w_hh)
        m.bias_ih_l0.copy_(bias)
        m.bias_hh_l0.zero_()
    return m
