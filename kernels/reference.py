"""Plain-torch LSTM over time: the oracle for the Triton kernels and the CPU path.

Exact ``torch.nn.LSTM`` semantics for one layer, one direction, with the input
projection already applied (``x_proj = x @ weight_ih.T``) and both biases summed.
Gate order along the 4H dimension is i, f, g, o, as ``torch.nn.LSTM`` stores it:

    gates = x_proj[t] + h @ w_hh.T + bias        # (B, 4H)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four H-wide slices
    c = f * c + i * g
    h = o * tanh(c)

Everything is ordinary autograd, so it is differentiable w.r.t. every input and
works in any dtype/device torch supports (fp64 for gradcheck).
"""

from __future__ import annotations

import torch

__all__ = ["lstm_reference", "check_lstm_args"]


def check_lstm_args(
    x_proj: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
) -> tuple[int, int, int]:
    """Validate the ``lstm_sequence`` arguments and return ``(T, B, H)``.

    Raises ``ValueError`` naming the offending argument and the expected shape,
    dtype or device. Shared by the reference and the Triton path so both reject
    exactly the same inputs.
    """
    args = {"x_proj": x_proj, "w_hh": w_hh, "bias": bias, "h0": h0, "c0": c0}
    for name, t in args.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if w_hh.dim() != 2 or w_hh.shape[0] != 4 * w_hh.shape[1] or w_hh.shape[1] == 0:
        raise ValueError(f"w_hh: expected shape (4H, H), got {tuple(w_hh.shape)}")
    H = w_hh.shape[1]
    if x_proj.dim() != 3 or x_proj.shape[2] != 4 * H:
        raise ValueError(
            f"x_proj: expected shape (T, B, 4H) = (T, B, {4 * H}), got {tuple(x_proj.shape)}"
        )
    T, B = x_proj.shape[0], x_proj.shape[1]
    if B == 0:
        raise ValueError(f"x_proj: batch size must be >= 1, got shape {tuple(x_proj.shape)}")
    if tuple(bias.shape) != (4 * H,):
        raise ValueError(f"bias: expected shape (4H,) = ({4 * H},), got {tuple(bias.shape)}")
    for name, t in (("h0", h0), ("c0", c0)):
        if tuple(t.shape) != (B, H):
            raise ValueError(f"{name}: expected shape (B, H) = ({B}, {H}), got {tuple(t.shape)}")
    for name, t in args.items():
        if not t.is_floating_point():
            raise ValueError(f"{name}: expected a floating-point tensor, got {t.dtype}")
        if t.dtype != x_proj.dtype:
            raise ValueError(f"{name}: expected dtype {x_proj.dtype} (the dtype of x_proj), got {t.dtype}")
        if t.device != x_proj.device:
            raise ValueError(
                f"{name}: expected device {x_proj.device} (the device of x_proj), got {t.device}"
            )
    return T, B, H


def lstm_reference(
    x_proj: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Run one LSTM layer over time with plain torch ops.

    Args:
        x_proj: (T, B, 4H) input already multiplied by ``weight_ih`` (gate order i, f, g, o).
        w_hh: (4H, H) recurrent weights, as ``torch.nn.LSTM.weight_hh_l0``.
        bias: (4H,) ``bias_ih_l0 + bias_hh_l0``.
        h0, c0: (B, H) initial state.

    Returns:
        ``(y, (h_T, c_T))`` with ``y`` (T, B, H) the hidden state after every step.
        For ``T == 0`` ``y`` is empty and the state is returned unchanged.
    """
    T, B, H = check_lstm_args(x_proj, w_hh, bias, h0, c0)
    h, c = h0, c0
    ys = []
    # Bias folded in once: one (T, B, 4H) add instead of T small ones.
    xb = x_proj + bias  # (T, B, 4H)
    w_t = w_hh.t()  # (H, 4H)
    for t in range(T):
        gates = xb[t] + h @ w_t  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        ys.append(h)
    y = torch.stack(ys) if ys else x_proj.new_empty((0, B, H))  # (T, B, H)
    return y, (h, c)
