"""model/ops.py: every LSTM implementation agrees with torch.nn.LSTM."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model import ops


def _nn_lstm_case(T=6, B=3, D=5, H=4, seed=0):
    torch.manual_seed(seed)
    ref = torch.nn.LSTM(D, H).double()
    x = torch.randn(T, B, D, dtype=torch.float64)
    h0 = torch.randn(B, H, dtype=torch.float64)
    c0 = torch.randn(B, H, dtype=torch.float64)
    y, (h, c) = ref(x, (h0[None], c0[None]))
    bias = ref.bias_ih_l0 + ref.bias_hh_l0
    return ref, x, h0, c0, bias, (y, h[0], c[0])


@pytest.mark.parametrize("impl", ["torch", "cudnn", "auto"])
def test_lstm_impls_match_torch_nn_lstm(impl):
    ref, x, h0, c0, bias, (y, h, c) = _nn_lstm_case()
    got, (gh, gc) = ops.lstm(x, ref.weight_ih_l0, ref.weight_hh_l0, bias, h0, c0, impl=impl)
    torch.testing.assert_close(got, y)
    torch.testing.assert_close(gh, h)
    torch.testing.assert_close(gc, c)


def test_lstm_layer_takes_the_projected_input():
    ref, x, h0, c0, bias, (y, _, _) = _nn_lstm_case(seed=1)
    got, _ = ops.lstm_layer(x @ ref.weight_ih_l0.t(), ref.weight_hh_l0, bias, h0, c0, impl="torch")
    torch.testing.assert_close(got, y)


def test_auto_is_the_reference_on_cpu_and_unknown_impls_are_rejected():
    assert ops.resolve_impl("auto", torch.device("cpu")) == "torch"
    with pytest.raises(ops.KernelUnavailableError, match="unknown lstm_impl"):
        ops.resolve_impl("fast", torch.device("cpu"))


def test_triton_impl_through_the_interpreter_matches_torch_nn_lstm_with_gradients():
    # tests/conftest.py sets TRITON_INTERPRET=1, so the Triton kernel runs on the CPU here.
    torch.manual_seed(2)
    ref = torch.nn.LSTM(5, 4)
    x = torch.randn(6, 3, 5, requires_grad=True)
    h0, c0 = torch.randn(3, 4), torch.randn(3, 4)
    y, _ = ref(x, (h0[None], c0[None]))
    y.sum().backward()
    want = x.grad.clone()
    x.grad = None
    got, _ = ops.lstm(x, ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0 + ref.bias_hh_l0, h0, c0, impl="triton")
    torch.testing.assert_close(got, y, rtol=1e-5, atol=1e-5)
    got.sum().backward()
    torch.testing.assert_close(x.grad, want, rtol=1e-5, atol=1e-5)
