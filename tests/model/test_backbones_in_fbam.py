"""The baseline backbones inside FBAM: streaming BPTT (chunked, carried state) == full backprop."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model.config import EmbeddingConfig, FrameHeadConfig, IntegratorConfig, ModelConfig
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.train.bptt import full_step, streaming_step

VOCAB = 11


class _Window:
    """Frames and targets already in memory (the WindowSource the BPTT step reads)."""

    def __init__(self, frames: FrameInputs, targets: torch.Tensor) -> None:
        self.x, self.tgt, self.length = frames, targets, frames.steps

    def frames(self, t0: int, t1: int) -> FrameInputs:
        return self.x.slice(t0, t1)

    def targets(self) -> torch.Tensor:
        return self.tgt


def _setup(kind: str, T: int = 10, B: int = 2) -> tuple[FBAM, _Window]:
    torch.manual_seed(0)
    cfg = ModelConfig(
        rows=8, cols=16, embed=EmbeddingConfig(dim=4, codepoints=128, hash_buckets=8),
        frame_head=FrameHeadConfig(conv_channels=[4, 8], width=8, blocks=1, heads=2, ffn_mult=2, out_dim=8),
        integrator=IntegratorConfig(kind=kind, hidden=8, layers=2, heads=2, ffn_mult=2))
    model = FBAM(cfg, VOCAB).double()
    with torch.no_grad():  # move off any zero init so every parameter gets a gradient
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    u8 = lambda hi: torch.randint(0, hi, (T, B, 8, 16), generator=g, dtype=torch.uint8)  # noqa: E731
    cursor = torch.stack([torch.randint(0, 8, (T, B), generator=g), torch.randint(0, 16, (T, B), generator=g),
                          torch.ones(T, B, dtype=torch.int64)], dim=-1).int()
    frames = FrameInputs(torch.randint(0, 300, (T, B, 8, 16), generator=g, dtype=torch.int32),
                         u8(16), u8(16), u8(128), cursor,
                         torch.randint(0, 256, (B, 256, 3), generator=g, dtype=torch.uint8))
    targets = torch.randint(0, VOCAB, (T, B), generator=g)
    return model, _Window(frames, targets)


@pytest.mark.parametrize("kind", ["transformer", "linear-rnn"])
def test_streaming_bptt_equals_full_backprop(kind):
    model, window = _setup(kind)
    full = full_step(model, window)
    want = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    got = streaming_step(model, window, chunk=3)
    assert got.loss == pytest.approx(full.loss, rel=1e-10)
    integrator_grads = 0
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, want[name], rtol=1e-7, atol=1e-10, msg=f"gradient of {name}")
        integrator_grads += name.startswith("integrator") and bool(want[name].abs().sum() > 0)
    assert integrator_grads > 5  # the backbone itself was trained through the chunks
