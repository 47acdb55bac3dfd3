"""GPU-only checks of the compiled kernels: fp16/bf16 at realistic sizes vs the fp32 reference.

Run on a CUDA machine with the interpreter off (conftest only sets a default):
    TRITON_INTERPRET=0 python -m pytest tests/kernels -q
bf16 is tested here only: bf16 ``tl.dot`` is wrong in the Triton interpreter.
"""

from __future__ import annotations

import pytest
import torch

from lstmkit import clone_args, make_args, run_and_grad
from sessionforge_kernels import lstm_reference, lstm_sequence
from sessionforge_kernels.common import interpreting

NAMES = ["y", "h_T", "c_T", "dx_proj", "dw_hh", "dbias", "dh0", "dc0"]
# Relative (Frobenius-norm) error bounds: the half-precision runs round the inputs,
# the saved gates' consumers and dx_proj; the reference runs in fp32 on the same
# (already rounded) inputs, so the gap is rounding noise amplified by the recurrence.
TOL = {torch.float16: 1e-2, torch.bfloat16: 4e-2}


def _require_gpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    if interpreting():
        pytest.skip("GPU tests need the compiled kernels: run with TRITON_INTERPRET=0")


def _compare(T, B, H, dtype, seed=0):
    args = make_args(T, B, H, dtype=dtype, device="cuda", seed=seed)
    out, grads = run_and_grad(lstm_sequence, args)
    ref = [a.detach().float().requires_grad_() for a in args]
    out_ref, grads_ref = run_and_grad(lstm_reference, ref)
    for name, a, b in zip(NAMES, [*out, *grads], [*out_ref, *grads_ref]):
        assert a.dtype == dtype, name
        assert torch.isfinite(a).all(), f"{name}: non-finite values"
        err = (a.float() - b).norm() / b.norm().clamp_min(1e-6)
        assert err < TOL[dtype], f"{name}: relative error {err:.2e} >= {TOL[dtype]:.0e} (T={T} B={B} H={H} {dtype})"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("H", [128, 256, 512, 1024])
@pytest.mark.parametrize("B", [1, 8, 32])
def test_gpu_half_precision_matches_fp32_reference(B, H, dtype):
    _require_gpu()
    _compare(64, B, H, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gpu_long_sequence(dtype):
    _require_gpu()
    _compare(4096, 8, 256, dtype, seed=1)


@pytest.mark.gpu
def test_gpu_fp32_tight_and_chunked_state():
    _require_gpu()
    T, B, H = 128, 8, 256
    args = make_args(T, B, H, device="cuda", seed=2)
    out, grads = run_and_grad(lstm_sequence, args)
    out_ref, grads_ref = run_and_grad(lstm_reference, clone_args(args))
    for name, a, b in zip(NAMES, [*out, *grads], [*out_ref, *grads_ref]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=lambda m: f"{name}: {m}")

    def chunked(x, w, b, h0, c0):
        y1, (h1, c1) = lstm_sequence(x[:50], w, b, h0, c0)
        y2, (h2, c2) = lstm_sequence(x[50:], w, b, h1, c1)
        return torch.cat([y1, y2]), (h2, c2)

    out2, grads2 = run_and_grad(chunked, clone_args(args))
    for name, a, b in zip(NAMES, [*out2, *grads2], [*out, *grads]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=lambda m: f"{name}: {m}")


@pytest.mark.gpu
@pytest.mark.parametrize("poll", ["load", "atomic"])
def test_gpu_barrier_timeout_reruns_step_by_step(monkeypatch, poll):
    """A barrier that gives up at once (spin budget 0) must warn and still give exact results."""
    _require_gpu()
    import sessionforge_kernels.lstm_bwd as bwd_mod
    import sessionforge_kernels.lstm_fwd as fwd_mod
    from sessionforge_kernels import LSTMKernelConfig

    cfg = LSTMKernelConfig(poll=poll)
    args = make_args(32, 8, 256, dtype=torch.float16, device="cuda", seed=4)
    out, grads = run_and_grad(lambda *a: lstm_sequence(*a, config=cfg), args)
    monkeypatch.setattr(fwd_mod, "MAX_SPIN", 0)
    monkeypatch.setattr(bwd_mod, "MAX_SPIN", 0)
    with pytest.warns(UserWarning, match="grid barrier timed out"):
        out2, grads2 = run_and_grad(lambda *a: lstm_sequence(*a, config=cfg), clone_args(args))
    for name, a, b in zip(NAMES, [*out2, *grads2], [*out, *grads]):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3, msg=lambda m: f"{name}: {m}")
