"""The gated linear recurrence: parallel scan == step-by-step recurrence, causality, chunking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch

from sessionforge.model.config import IntegratorConfig
from sessionforge.model.linear_rnn import MAX_LOG_DECAY, GatedLinearRNN, gated_scan


def make(layers: int = 2, hidden: int = 16, input_dim: int = 6) -> GatedLinearRNN:
    torch.manual_seed(0)
    cfg = IntegratorConfig(kind="linear-rnn", hidden=hidden, layers=layers, ffn_mult=2)
    return GatedLinearRNN(input_dim, cfg).eval()


def naive_scan(log_a, b, h0):
    h, out = h0, []
    for t in range(b.shape[0]):
        h = torch.exp(log_a[t]) * h + b[t]
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("steps", [1, 15, 16, 17, 100, 257])
def test_scan_equals_loop_including_strongest_decay(steps):
    g = torch.Generator().manual_seed(steps)
    log_a = -torch.rand(steps, 3, 5, generator=g) * MAX_LOG_DECAY
    log_a[::7] = -MAX_LOG_DECAY  # the extreme the scan promises to handle
    log_a[1::5] = 0.0  # and perfect memory
    b = torch.randn(steps, 3, 5, generator=g) * 10
    h0 = torch.randn(3, 5, generator=g)
    torch.testing.assert_close(gated_scan(log_a, b, h0), naive_scan(log_a, b, h0), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(gated_scan(log_a, b), naive_scan(log_a, b, torch.zeros(3, 5)),
                               rtol=1e-4, atol=1e-4)


def test_scan_gradients_equal_loop_gradients():
    g = torch.Generator().manual_seed(1)
    log_a = (-torch.rand(40, 2, 4, generator=g) * 2).requires_grad_()
    b = torch.randn(40, 2, 4, generator=g).requires_grad_()
    h0 = torch.randn(2, 4, generator=g).requires_grad_()
    w = torch.randn(40, 2, 4, generator=g)
    grads_scan = torch.autograd.grad((gated_scan(log_a, b, h0) * w).sum(), (log_a, b, h0))
    grads_loop = torch.autograd.grad((naive_scan(log_a, b, h0) * w).sum(), (log_a, b, h0))
    for gs, gl in zip(grads_scan, grads_loop):
        torch.testing.assert_close(gs, gl, rtol=1e-4, atol=1e-4)


def test_model_parallel_equals_step_by_step():
    model = make(layers=3)
    x = torch.randn(37, 4, 6)
    y_par, s_par = model(x)
    y_rec, s_rec = model.forward_recurrent(x)
    assert y_par.shape == (37, 4, 16)
    torch.testing.assert_close(y_par, y_rec, rtol=1e-4, atol=1e-5)
    for a, b in zip(s_par, s_rec):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cuts", [(3,), (16, 20), (1, 2, 33)])
def test_chunked_with_carried_state_equals_one_pass(cuts):
    model = make()
    x = torch.randn(40, 2, 6)
    y_full, s_full = model(x)
    state, outs, start = None, [], 0
    for stop in (*cuts, 40):
        y, state = model(x[start:stop], state)
        outs.append(y)
        start = stop
    torch.testing.assert_close(torch.cat(outs), y_full, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(state[-1], s_full[-1], rtol=1e-4, atol=1e-5)


def test_perturbing_a_step_changes_no_earlier_output():
    model = make()
    x = torch.randn(30, 2, 6)
    y, _ = model(x)
    for t in (0, 17, 29):
        x2 = x.clone()
        x2[t] += 3.0
        y2, _ = model(x2)
        torch.testing.assert_close(y2[:t], y[:t], rtol=0, atol=1e-6)
        assert (y2[t] - y[t]).abs().max() > 1e-3


def test_trains_under_autograd():
    model = make().train()
    x = torch.randn(20, 2, 6)
    y, _ = model(x)
    y.pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@settings(max_examples=30, deadline=None)
@given(steps=st.integers(1, 70), chunk=st.integers(1, 16), seed=st.integers(0, 2**31 - 1),
       with_h0=st.booleans())
def test_scan_equals_loop_for_any_length_and_chunk(steps, chunk, seed, with_h0):
    g = torch.Generator().manual_seed(seed)
    log_a = -torch.rand(steps, 2, 3, generator=g, dtype=torch.float64) * MAX_LOG_DECAY
    b = torch.randn(steps, 2, 3, generator=g, dtype=torch.float64)
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64) if with_h0 else None
    want = naive_scan(log_a, b, h0 if with_h0 else torch.zeros(2, 3, dtype=torch.float64))
    got = gated_scan(log_a, b, h0, chunk=chunk)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
