"""Streaming BPTT with recomputation must equal plain full backprop, gradient for gradient."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model.fbam import FBAM
from sessionforge.train.bptt import IGNORE, full_step, streaming_step
from trainkit import TensorWindow, random_frames, tiny_model_config

VOCAB = 23


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def _perturb(model: torch.nn.Module) -> torch.nn.Module:
    # Zero-initialised residual branches would leave some parameters without gradient.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _setup(T: int = 11, B: int = 3, layers: int = 2, seed: int = 0):
    torch.manual_seed(seed)
    model = _perturb(FBAM(tiny_model_config(layers=layers), VOCAB).double())
    x = random_frames(T, B, 8, 16, seed=seed)
    targets = torch.randint(0, VOCAB, (T, B), generator=torch.Generator().manual_seed(seed + 1))
    targets[3, 1] = IGNORE  # an ignored target must be ignored by both paths
    return model, TensorWindow(x, targets)


@pytest.mark.parametrize("chunk,frame_chunk", [(4, 0), (3, 2), (11, 5), (1, 1)])
def test_streaming_equals_full_backprop_for_every_parameter(chunk, frame_chunk):
    model, window = _setup()
    full = full_step(model, window)
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    got_res = streaming_step(model, window, chunk=chunk, frame_chunk=frame_chunk)
    got = _grads(model)
    assert got_res.loss == pytest.approx(full.loss, rel=1e-12, abs=1e-12)
    assert got_res.tokens == full.tokens == 11 * 3 - 1
    torch.testing.assert_close(got_res.position_loss, full.position_loss, rtol=1e-12, atol=1e-12)
    assert set(got) == set(want)
    for name in want:
        assert want[name].abs().sum() > 0, f"{name} got no gradient at all: the test would prove nothing"
        torch.testing.assert_close(got[name], want[name], rtol=1e-9, atol=1e-12, msg=f"gradient of {name}")
    for (h1, c1), (h2, c2) in zip(full.state, got_res.state):
        torch.testing.assert_close(h1, h2, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(c1, c2, rtol=1e-12, atol=1e-12)


def test_streaming_equals_full_with_a_carried_initial_state():
    model, window = _setup(T=9, B=2, layers=1, seed=3)
    g = torch.Generator().manual_seed(7)
    state0 = [(torch.randn(2, 8, generator=g, dtype=torch.float64), torch.randn(2, 8, generator=g, dtype=torch.float64))]
    full = full_step(model, window, state0)
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    res = streaming_step(model, window, state0, chunk=4)
    assert res.loss == pytest.approx(full.loss, rel=1e-12)
    for name, g_want in want.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, g_want, rtol=1e-9, atol=1e-12)


def test_streaming_decodes_each_frame_twice_but_the_kept_last_chunk_and_never_the_whole_window():
    model, window = _setup(T=12, B=2, layers=1)
    seen = []
    read = window.frames
    window.frames = lambda t0, t1: (seen.append(t1 - t0), read(t0, t1))[1]
    streaming_step(model, window, chunk=4)
    # Once in the no-grad pass, once recomputed in the backward pass; the last chunk's graph is
    # kept from the first pass (one frame-head micro-batch), so its frames are read once.
    assert seen == [4, 4, 4, 4, 4]
    # A frame-head micro-batch smaller than the chunk: the last chunk is recomputed too.
    seen.clear()
    streaming_step(model, window, chunk=4, frame_chunk=2)
    assert sum(seen) == 2 * 12 and max(seen) == 4  # chunk by chunk: the window is never materialised at once


def test_a_window_of_one_chunk_runs_the_frame_head_once_each_way():
    model, window = _setup(T=6, B=2, layers=1)
    full = full_step(model, window)
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    calls = []
    embed = model.embed_frames
    model.embed_frames = lambda x: (calls.append(x.steps), embed(x))[1]
    res = streaming_step(model, window, chunk=6)
    assert calls == [6]
    assert res.loss == pytest.approx(full.loss, rel=1e-12)
    for name, g_want in want.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, g_want, rtol=1e-9, atol=1e-12)


def test_dropout_is_replayed_exactly_in_recomputation():
    torch.manual_seed(0)
    model = _perturb(FBAM(tiny_model_config(layers=2, dropout=0.3), VOCAB).double())
    x = random_frames(8, 2, 8, 16)
    window = TensorWindow(x, torch.randint(0, VOCAB, (8, 2)))
    # With one chunk streaming sees the same RNG sequence as full backprop (head, then
    # integrator); the recomputation must reuse the forward pass's dropout masks.
    torch.manual_seed(5)
    full = full_step(model, window)
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(5)
    res = streaming_step(model, window, chunk=8)
    assert res.loss == pytest.approx(full.loss, rel=1e-12)
    for name, g in want.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, g, rtol=1e-9, atol=1e-12)


def test_streaming_with_the_triton_kernel_equals_full_backprop_with_the_reference():
    # tests/conftest.py sets TRITON_INTERPRET=1: the Triton LSTM runs on the CPU, in fp64.
    model, window = _setup(T=7, B=2, layers=2, seed=4)
    full = full_step(model, window)
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    model.integrator.cfg.lstm_impl = "triton"
    res = streaming_step(model, window, chunk=3)
    assert res.loss == pytest.approx(full.loss, rel=1e-10)
    for name, g in _grads(model).items():
        torch.testing.assert_close(g, want[name], rtol=1e-8, atol=1e-10, msg=f"gradient of {name}")
