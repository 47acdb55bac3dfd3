"""GPU-only: streaming BPTT under bf16 autocast with offloaded frame vectors (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model.fbam import FBAM
from sessionforge.train.bptt import full_step, streaming_step
from trainkit import TensorWindow, random_frames, tiny_model_config


@pytest.mark.gpu
@pytest.mark.parametrize("impl", ["auto", "torch", "cudnn"])
def test_streaming_on_cuda_matches_full_backprop(impl, monkeypatch):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.manual_seed(0)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # TF32 convs differ by chunking (~1e-3)
    cfg = tiny_model_config(layers=2)
    cfg.integrator.lstm_impl = impl
    model = FBAM(cfg, 17).cuda()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    window = TensorWindow(random_frames(24, 4, 8, 16), torch.randint(0, 17, (24, 4)))
    full = full_step(model, window, device="cuda")
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    res = streaming_step(model, window, chunk=5, frame_chunk=3, device="cuda", offload=True)
    assert res.loss == pytest.approx(full.loss, rel=1e-4)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, want[n], rtol=1e-3, atol=1e-5, msg=n)
    # bf16 autocast: same loss to bf16 precision.
    model.zero_grad(set_to_none=True)
    amp = streaming_step(model, window, chunk=5, device="cuda", autocast_dtype=torch.bfloat16, offload=True)
    assert amp.loss == pytest.approx(full.loss, rel=3e-2)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
