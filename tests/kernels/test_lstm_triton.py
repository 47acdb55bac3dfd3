"""Triton LSTM kernels (interpreter on CPU) against the reference and torch.nn.LSTM.

Every launch path is covered: one program along H ("cta", all steps in one launch),
the hidden dimension split over programs ("step": one launch per step), and the
persistent "grid" barrier code (with one program along H, the only way it can run
in the sequential interpreter), with batch tiles split over programs; W_hh slices
kept on chip ("resident") and streamed in K-chunks.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.utils.checkpoint

import sessionforge_kernels.function as fn_mod
from lstmkit import DEVICE, clone_args, make_args, nn_lstm_as_fn, run_and_grad
from sessionforge_kernels import LSTMKernelConfig, lstm_reference, lstm_sequence
from sessionforge_kernels.common import SYNC_CTA, SYNC_GRID, SYNC_NONE, make_plan

NAMES = ["x_proj", "w_hh", "bias", "h0", "c0"]

# (T, B, H, config): non-power-of-two H and B exercise every mask.
CASES = [
    (9, 3, 8, None),
    (6, 1, 20, None),
    (5, 4, 32, LSTMKernelConfig(block_h=8)),
    (4, 2, 12, LSTMKernelConfig(block_h=4)),
    (5, 19, 16, LSTMKernelConfig(sync="grid", block_b=16)),
    (4, 3, 24, LSTMKernelConfig(resident=False, block_k=16)),  # streamed W, 2 K-chunks
    (4, 2, 32, LSTMKernelConfig(resident=False, block_k=16, block_h=8)),
    (5, 3, 40, LSTMKernelConfig(block_h=16, ksplit=4)),  # backward dots as 4 K-chains of 16
]


def _check(out, grads, out_ref, grads_ref, atol, rtol=0.0):
    for name, a, b in zip(["y", "h_T", "c_T"], out, out_ref):
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m: f"{name}: {m}")
    for name, a, b in zip(NAMES, grads, grads_ref):
        assert a is not None, f"no gradient for {name}"
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m: f"d{name}: {m}")


def _kernel(config):
    return lambda *a: lstm_sequence(*a, config=config)


@pytest.mark.parametrize("T,B,H,config", CASES)
def test_kernel_matches_reference_fp32(T, B, H, config):
    args = make_args(T, B, H)
    out, grads = run_and_grad(_kernel(config), args)
    out_ref, grads_ref = run_and_grad(lstm_reference, clone_args(args))
    _check(out, grads, out_ref, grads_ref, atol=2e-5, rtol=1e-5)


def test_several_batch_tiles_per_program_and_32_row_tiles(monkeypatch):
    """One SM: a single program loops over two 32-row tiles every step (the B=128 plans' path)."""
    import sessionforge_kernels.common as common

    monkeypatch.setattr(common, "_num_sms", lambda device: 1)
    cfg = LSTMKernelConfig(block_b=32)
    p = make_plan(40, 32, torch.device("cpu"), cfg)
    assert (p.n_h, p.n_b, p.block_b, p.rows_per_prog) == (1, 1, 32, 64)
    args = make_args(4, 40, 32, seed=21)
    out, grads = run_and_grad(_kernel(cfg), args)
    out_ref, grads_ref = run_and_grad(lstm_reference, clone_args(args))
    _check(out, grads, out_ref, grads_ref, atol=2e-5, rtol=1e-5)


def test_weight_grads_in_several_time_chunks_equal_one():
    from sessionforge_kernels.lstm_bwd import weight_grads

    g = torch.Generator().manual_seed(5)
    T, B, H = 7, 3, 8
    dx = torch.randn(T, B, 4 * H, generator=g, dtype=torch.float64)
    y = torch.randn(T + 1, B, H, generator=g, dtype=torch.float64)  # row 0 = h0
    dw_one, db_one = weight_grads(dx, y)
    dw_many, db_many = weight_grads(dx, y, chunk_elems=2 * B * 4 * H)  # 2 steps per chunk: 4 chunks
    direct = sum(dx[t].T @ y[t] for t in range(T))
    torch.testing.assert_close(dw_one, direct, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dw_many, direct, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(db_many, dx.sum((0, 1)), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(db_one, db_many)


def test_kernel_matches_nn_lstm_fp32(monkeypatch):
    # On a GPU, cuDNN's fp32 LSTM may use TF32 matmuls (1e-4 off): make it exact fp32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    T, B, H = 8, 3, 16
    args = make_args(T, B, H, seed=3)
    out, grads = run_and_grad(_kernel(None), args)
    ref = clone_args(args)
    m = nn_lstm_as_fn(ref)

    def nn_fn(x, w, b, h0, c0):
        y, (h, c) = m(x, (h0[None], c0[None]))
        return y, (h[0], c[0])

    out_ref, _ = run_and_grad(nn_fn, ref)
    grads_ref = [ref[0].grad, m.weight_hh_l0.grad, m.bias_ih_l0.grad, ref[3].grad, ref[4].grad]
    _check(out, grads, out_ref, grads_ref, atol=2e-5, rtol=1e-5)


def test_kernel_fp64_matches_reference_to_rounding():
    # The kernel computes in the input dtype's precision class (fp64 in, fp64 math),
    # so fp64 agreement must be at rounding level, not fp32 level.
    args = make_args(6, 2, 12, dtype=torch.float64, seed=5)
    out, grads = run_and_grad(_kernel(LSTMKernelConfig(block_h=4)), args)
    out_ref, grads_ref = run_and_grad(lstm_reference, clone_args(args))
    _check(out, grads, out_ref, grads_ref, atol=1e-12)


@pytest.mark.parametrize("config", [None, LSTMKernelConfig(block_h=16, resident=False, block_k=16)])
def test_kernel_fp16_close_to_fp32_reference(config):
    """fp16 in and out (fp32 inside): the half-precision casts and stores on the CPU.

    bf16 is GPU-only (bf16 ``tl.dot`` is wrong in the interpreter), see test_lstm_gpu.py.
    """
    args = make_args(4, 2, 32, dtype=torch.float16, seed=9)
    out, grads = run_and_grad(_kernel(config), args)
    ref = [a.detach().float().requires_grad_() for a in args]
    out_ref, grads_ref = run_and_grad(lstm_reference, ref)
    for name, a, b in zip(["y", "h_T", "c_T", *NAMES], [*out, *grads], [*out_ref, *grads_ref]):
        assert a.dtype == torch.float16, name
        err = ((a.float() - b).norm() / b.norm()).item()
        assert err < 2e-3, f"{name}: relative error {err:.1e}"


def test_kernel_gradcheck_fp64():
    args = make_args(3, 2, 4, dtype=torch.float64, seed=7)

    def f(*a):
        y, (h, c) = lstm_sequence(*a)
        return y, h, c

    assert torch.autograd.gradcheck(f, args, fast_mode=True)


def test_two_chunks_with_carried_state_equal_one_sequence():
    T, B, H = 10, 2, 8
    args = make_args(T, B, H, seed=11)
    out_one, grads_one = run_and_grad(_kernel(None), args)

    two = clone_args(args)

    def chunked(x, w, b, h0, c0):
        y1, (h1, c1) = lstm_sequence(x[:4], w, b, h0, c0)
        y2, (h2, c2) = lstm_sequence(x[4:], w, b, h1, c1)
        return torch.cat([y1, y2]), (h2, c2)

    out_two, grads_two = run_and_grad(chunked, two)
    _check(out_two, grads_two, out_one, grads_one, atol=1e-6)


def test_recompute_from_checkpoint_gives_same_gradients():
    args = make_args(6, 2, 8, seed=13)
    out_a, grads_a = run_and_grad(_kernel(None), args)

    def ckpt(*a):
        y, h, c = torch.utils.checkpoint.checkpoint(
            lambda *b: (lambda r: (r[0], *r[1]))(lstm_sequence(*b)), *a, use_reentrant=False
        )
        return y, (h, c)

    out_b, grads_b = run_and_grad(ckpt, clone_args(args))
    _check(out_b, grads_b, out_a, grads_a, atol=0.0)


@pytest.mark.parametrize("config", [None, LSTMKernelConfig(block_h=4)])
def test_every_output_element_is_written(monkeypatch, config):
    """Kernel buffers start as NaN: any element a kernel skips poisons outputs or grads."""
    allocated = []

    def poisoned(name, shape, dtype, device):
        allocated.append(name)
        return torch.full(shape, math.nan, dtype=dtype, device=device)

    monkeypatch.setattr(fn_mod, "_alloc_hook", poisoned)
    args = make_args(5, 3, 12, seed=17)
    out, grads = run_and_grad(_kernel(config), args)
    assert sorted(allocated) == ["c", "dx", "gates", "y"]
    monkeypatch.setattr(fn_mod, "_alloc_hook", None)
    out_ref, grads_ref = run_and_grad(lstm_reference, clone_args(args))
    _check(out, grads, out_ref, grads_ref, atol=2e-5, rtol=1e-5)


def test_empty_sequence_returns_initial_state():
    x, w, b, h0, c0 = make_args(0, 2, 4)
    y, (h, c) = lstm_sequence(x, w, b, h0, c0)
    assert y.shape == (0, 2, 4)
    torch.testing.assert_close(h, h0)
    (h.sum() + 2 * c.sum()).backward()
    assert torch.equal(h0.grad, torch.ones_like(h0)) and torch.equal(c0.grad, torch.full_like(c0, 2.0))


def test_bad_arguments_raise_value_error():
    x, w, b, h0, c0 = (a.detach() for a in make_args(3, 2, 4))
    with pytest.raises(ValueError, match=r"^w_hh: expected shape \(4H, H\)"):
        lstm_sequence(x, w[:, :3], b, h0, c0)
    with pytest.raises(ValueError, match=r"^x_proj: expected shape \(T, B, 4H\) = \(T, B, 16\)"):
        lstm_sequence(x[..., :8], w, b, h0, c0)
    with pytest.raises(ValueError, match=r"^h0: expected shape \(B, H\) = \(2, 4\)"):
        lstm_sequence(x, w, b, h0[:1], c0)
    with pytest.raises(ValueError, match=r"^c0: expected dtype torch.float32"):
        lstm_sequence(x, w, b, h0, c0.double())
    with pytest.raises(ValueError, match=r"^x_proj: dtype torch.int32 not supported|^x_proj: expected a floating"):
        lstm_sequence(*(a.to(torch.int32) for a in (x, w, b, h0, c0)))


@pytest.mark.skipif(DEVICE != "cpu", reason="checks the CPU refusal")
def test_cpu_tensors_without_interpreter_are_refused(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    x, w, b, h0, c0 = (a.detach() for a in make_args(2, 1, 4))
    with pytest.raises(ValueError, match="needs a CUDA tensor"):
        lstm_sequence(x, w, b, h0, c0)


def test_plan_for_large_hidden_uses_persistent_grid_on_h100(monkeypatch):
    """The H100 plans the sweep in bench/README.md chose: one 16-row tile per program where possible."""
    import sessionforge_kernels.common as common

    monkeypatch.setattr(common, "_num_sms", lambda device: 132)
    monkeypatch.setattr(common, "interpreting", lambda: False)

    def plan(B, H, cfg=None, dtype=torch.float16):
        p = make_plan(B, H, torch.device("cpu"), cfg, dtype)
        return p.block_h, p.block_b, p.n_h, p.n_b, p.rows_per_prog, p.sync, p.ksplit

    assert plan(32, 1024) == (16, 16, 64, 2, 16, SYNC_GRID, 4)
    assert plan(8, 1024) == (8, 16, 128, 1, 16, SYNC_GRID, 1)
    assert plan(128, 1024) == (16, 32, 64, 2, 64, SYNC_GRID, 4)  # no single-tile plan fits 132 SMs
    assert plan(32, 512) == (8, 16, 64, 2, 16, SYNC_GRID, 1)
    assert plan(128, 256) == (16, 16, 16, 8, 16, SYNC_GRID, 1)
    assert plan(8, 256) == (4, 16, 64, 1, 16, SYNC_GRID, 1)
    assert make_plan(32, 1024, torch.device("cpu"), None).num_warps == 4
    assert not make_plan(32, 1024, torch.device("cpu"), None, torch.float32).resident  # would not fit on chip
    assert make_plan(32, 256, torch.device("cpu"), None, torch.float32).resident
    p = make_plan(4, 48, torch.device("cpu"), None)
    assert (p.n_h, p.block_b, p.sync) == (1, 16, SYNC_CTA)
    p = make_plan(8, 4096, torch.device("cpu"), None)  # streamed slices grow so programs stay co-resident
    assert (p.block_h, p.n_h, p.sync, p.resident) == (32, 128, SYNC_GRID, False)
    p = make_plan(8, 64, torch.device("cpu"), LSTMKernelConfig(block_h=4))
    assert (p.n_h, p.sync) == (16, SYNC_GRID)
    # Few SMs (e.g. an L4's 58): no plan keeps a <= 128 KB slice co-resident, so the
    # fallback's 32-unit slices (256 KB) are streamed instead of kept on chip.
    monkeypatch.setattr(common, "_num_sms", lambda device: 58)
    assert plan(32, 1024)[0] == 32 and not make_plan(32, 1024, torch.device("cpu"), None).resident
    monkeypatch.setattr(common, "_num_sms", lambda device: 132)
    with pytest.raises(ValueError, match="ksplit"):
        make_plan(8, 64, torch.device("cpu"), LSTMKernelConfig(ksplit=8))  # 64 / 8 < 16
    monkeypatch.setattr(common, "interpreting", lambda: True)  # sequential programs: no spin barrier
    assert make_plan(8, 64, torch.device("cpu"), LSTMKernelConfig(block_h=4)).sync == SYNC_NONE
    with pytest.raises(ValueError, match="deadlocks the interpreter"):
        make_plan(8, 64, torch.device("cpu"), LSTMKernelConfig(block_h=4, sync="grid"))
