"""The plain-torch oracle: exact torch.nn.LSTM semantics, exact gradients, argument checks."""

from __future__ import annotations

import pytest
import torch

from lstmkit import clone_args, make_args, nn_lstm_as_fn, run_and_grad
from sessionforge_kernels.reference import lstm_reference


def test_reference_matches_nn_lstm_outputs_and_grads():
    args = make_args(7, 3, 5, dtype=torch.float64, device="cpu")
    (y, h, c), grads = run_and_grad(lstm_reference, args)
    ref = clone_args(args)
    m = nn_lstm_as_fn(ref)
    (y2, h2, c2), _ = run_and_grad(lambda x, w, b, h0, c0: _nn(m, x, h0, c0), ref)
    torch.testing.assert_close(y, y2, rtol=0, atol=1e-12)
    torch.testing.assert_close(h, h2, rtol=0, atol=1e-12)
    torch.testing.assert_close(c, c2, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[0], ref[0].grad, rtol=0, atol=1e-12)  # x_proj
    torch.testing.assert_close(grads[1], m.weight_hh_l0.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[2], m.bias_ih_l0.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[3], ref[3].grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(grads[4], ref[4].grad, rtol=0, atol=1e-12)


def _nn(m, x, h0, c0):
    y, (h, c) = m(x, (h0[None], c0[None]))
    return y, (h[0], c[0])


def test_reference_gradcheck_fp64():
    args = make_args(4, 2, 3, dtype=torch.float64, device="cpu")
    assert torch.autograd.gradcheck(lambda *a: _flat(lstm_reference(*a)), args)


def _flat(out):
    y, (h, c) = out
    return y, h, c


def test_reference_empty_sequence_returns_initial_state():
    x, w, b, h0, c0 = make_args(0, 2, 3, device="cpu")
    y, (h, c) = lstm_reference(x, w, b, h0, c0)
    assert y.shape == (0, 2, 3)
    assert torch.equal(h, h0) and torch.equal(c, c0)


def _bad_cases():
    T, B, H = 3, 2, 4
    good = [a.detach() for a in make_args(T, B, H, device="cpu")]

    def with_(i, t):
        a = list(good)
        a[i] = t
        return a

    return [
        ("x_proj", with_(0, torch.zeros(T, B, 4 * H + 1))),
        ("x_proj", with_(0, torch.zeros(B, 4 * H))),
        ("w_hh", with_(1, torch.zeros(4 * H, H + 1))),
        ("w_hh", with_(1, torch.zeros(4 * H))),
        ("bias", with_(2, torch.zeros(2 * H))),
        ("h0", with_(3, torch.zeros(B + 1, H))),
        ("c0", with_(4, torch.zeros(B, H, 1))),
        ("h0", with_(3, torch.zeros(B, H, dtype=torch.float64))),
        ("bias", with_(2, torch.zeros(4 * H, dtype=torch.int64))),
        ("c0", with_(4, [[0.0] * H] * B)),
    ]


@pytest.mark.parametrize("name,args", _bad_cases())
def test_reference_rejects_bad_arguments(name, args):
    with pytest.raises(ValueError, match=rf"^{name}: expected"):
        lstm_reference(*args)
