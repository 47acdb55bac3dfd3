"""The baseline backbones on CUDA give what they give on a CPU (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from sessionforge.model.causal_transformer import CausalTransformer
from sessionforge.model.config import IntegratorConfig
from sessionforge.model.linear_rnn import GatedLinearRNN


@pytest.mark.gpu
@pytest.mark.parametrize("cls, kind", [(CausalTransformer, "transformer"), (GatedLinearRNN, "linear-rnn")])
def test_cuda_matches_cpu_including_carried_state(cls, kind):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.manual_seed(0)
    model = cls(12, IntegratorConfig(kind=kind, hidden=64, layers=2, heads=4)).eval()
    x = torch.randn(300, 4, 12)
    want, _ = model(x)
    gpu = model.cuda()
    a, state = gpu(x[:120].cuda())
    b, _ = gpu(x[120:].cuda(), state)
    torch.testing.assert_close(torch.cat([a, b]).cpu(), want, rtol=2e-3, atol=2e-3)
