"""The causal Transformer backbone: contract shapes, causality, chunked == one pass."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model.causal_transformer import CausalTransformer
from sessionforge.model.integrators import map_state, state_tensors
from sessionforge.model.config import IntegratorConfig


def make(layers: int = 2, hidden: int = 32, heads: int = 4, input_dim: int = 12, **kw) -> CausalTransformer:
    torch.manual_seed(0)
    cfg = IntegratorConfig(kind="transformer", hidden=hidden, layers=layers, heads=heads, ffn_mult=2)
    return CausalTransformer(input_dim, cfg, **kw).eval()


def test_shapes_and_state():
    model = make()
    x = torch.randn(7, 3, 12)
    y, state = model(x)
    assert y.shape == (7, 3, 32)
    assert len(state) == 2 and all(k.shape == (3, 4, 7, 8) and v.shape == (3, 4, 7, 8) for k, v in state)
    # the trainer's generic state helpers (detach between windows, device moves) understand it
    assert len(state_tensors(state)) == 4
    detached = map_state(state, torch.Tensor.detach)
    y2, _ = model(x[:2], detached)
    assert y2.shape == (2, 3, 32)


def test_perturbing_a_step_changes_no_earlier_output():
    model = make(layers=3)
    x = torch.randn(20, 2, 12)
    y, _ = model(x)
    for t in (0, 5, 19):
        x2 = x.clone()
        x2[t] += torch.randn(2, 12) * 3
        y2, _ = model(x2)
        torch.testing.assert_close(y2[:t], y[:t], rtol=0, atol=1e-6)
        assert (y2[t] - y[t]).abs().max() > 1e-3  # and the step itself does see its input


def test_gradient_flows_only_backwards_in_time():
    model = make()
    x = torch.randn(10, 2, 12, requires_grad=True)
    y, _ = model(x)
    y[4].sum().backward()
    grad = x.grad.abs().sum(dim=(1, 2))
    assert grad[5:].max() == 0
    assert grad[:5].min() > 0


@pytest.mark.parametrize("cuts", [(5,), (1, 2, 9), (13,)])
def test_chunked_with_carried_cache_equals_one_pass(cuts):
    model = make()
    x = torch.randn(16, 3, 12)
    y_full, _ = model(x)
    state, outs, start = None, [], 0
    for stop in (*cuts, 16):
        y, state = model(x[start:stop], state)
        outs.append(y)
        start = stop
    torch.testing.assert_close(torch.cat(outs), y_full, rtol=1e-5, atol=1e-5)
    assert state[0][0].shape[2] == 16


def test_sliding_window_cache_equals_banded_attention_over_the_window():
    model = make(layers=1, max_context=4)
    x = torch.randn(10, 1, 12)
    _, state = model(x[:6])
    assert state[0][0].shape[2] == 4
    y, state = model(x[6:7], state)
    # one layer: step 6 sees exactly steps 2..6, as if they were the whole sequence
    y_ref, _ = model(x[2:7])
    torch.testing.assert_close(y[0], y_ref[-1], rtol=1e-5, atol=1e-5)
    assert state[0][0].shape[2] == 4


def test_bad_head_count_is_a_clear_error():
    with pytest.raises(ValueError, match="divisible"):
        CausalTransformer(8, IntegratorConfig(kind="transformer", hidden=30, layers=1, heads=4))
