"""The CPU experiment's model options: the numba cell path, pointwise blocks, the fold, the patch stem.

Each new path is checked against the torch path it replaces (the same values; gradients
equal up to float summation order, checked in fp64), on frames like real sessions: most
rows equal to the previous frame's, runs of spaces, a cursor that moves, hides and leaves
the screen, code points past the table (hashed).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from sessionforge.config import load_config
from sessionforge.errors import ConfigError
from sessionforge.model.config import EmbeddingConfig, FrameHeadConfig, IntegratorConfig, ModelConfig
from sessionforge.model.embedding import CellEmbedding, DeferredCells, FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.model.frame_head import ConvBlock, fold, fold_rows, fold_weight
from sessionforge.train.config import TrainConfig


def typing_frames(T: int = 5, B: int = 3, R: int = 16, C: int = 32, seed: int = 0) -> FrameInputs:
    """Frames that change a cell or two per step, like a session: text rows over spaces, a status row."""
    g = torch.Generator().manual_seed(seed)
    chars = torch.full((B, R, C), 32, dtype=torch.int32)
    chars[:, : R // 2, : C // 2] = torch.randint(33, 127, (B, R // 2, C // 2), generator=g, dtype=torch.int32)
    chars[0, 1, 3], chars[-1, 2, 5] = 70000, 2**31 - 1  # past the code point table: hashed rows
    fg = torch.randint(0, 4, (B, R, C), generator=g, dtype=torch.uint8)
    bg = torch.zeros(B, R, C, dtype=torch.uint8)
    bg[:, -1] = 4
    attrs = torch.zeros(B, R, C, dtype=torch.uint8)
    attrs[:, 0] = 17
    frames, cursors = [], []
    for t in range(T):
        if t:  # one key: a character somewhere, and the status row's counter
            r, c = int(torch.randint(0, R - 1, (1,), generator=g)), int(torch.randint(0, C, (1,), generator=g))
            chars[t % B, r, c] = 65 + t
            chars[:, -1, 0] = 48 + t
        frames.append(chars.clone())
        cursors.append(torch.tensor([[t % R, (3 * t) % C, 1]] * B, dtype=torch.int32))
    cursor = torch.stack(cursors)  # (T, B, 3)
    cursor[min(1, T - 1), 0, 2] = 0  # hidden
    cursor[min(2, T - 1), -1] = torch.tensor([R + 3, 0, 1])  # off screen
    palette = torch.randint(0, 256, (B, 256, 3), generator=g, dtype=torch.uint8)
    expand = lambda x: x.expand(T, *x.shape).clone()  # noqa: E731
    return FrameInputs(torch.stack(frames), expand(fg), expand(bg), expand(attrs), cursor, palette)


def _embeddings(dtype: torch.dtype) -> tuple[CellEmbedding, CellEmbedding]:
    torch.manual_seed(0)
    a = CellEmbedding(16, 32, EmbeddingConfig(dim=3, codepoints=100, hash_buckets=8)).to(dtype)
    b = copy.deepcopy(a)
    b.cfg = EmbeddingConfig(dim=3, codepoints=100, hash_buckets=8, impl="numba")
    return a, b


def _grads(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_numba_cells_equal_the_torch_path(dtype):
    a, b = _embeddings(dtype)
    x = typing_frames()
    want = a(x)
    deferred = b(x)
    assert isinstance(deferred, DeferredCells)
    got = deferred.materialize()
    assert got.shape == want.shape == (15, 3, 16, 32)
    assert torch.equal(got, want)  # the same float additions in the same order
    w = torch.randn(want.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    (want * w).sum().backward()
    (got * w).sum().backward()
    ga, gb = _grads(a), _grads(b)
    assert ga.keys() == gb.keys() and len(ga) == 7
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    for name in ga:
        torch.testing.assert_close(gb[name], ga[name], **tol, msg=name)


def test_numba_cells_refuse_what_the_torch_gathers_would():
    _, b = _embeddings(torch.float32)
    x = typing_frames()
    x.attrs[0, 0, 0, 0] = 200  # bit 7: no such attribute row
    with pytest.raises(ValueError, match="out of range"):
        b(x)


def test_numba_cells_run_the_torch_path_on_other_dtypes():
    _, b = _embeddings(torch.float32)
    b = b.to(torch.bfloat16)
    assert isinstance(b(typing_frames()), torch.Tensor)


def test_fold_is_pixel_unshuffle_and_fold_rows_its_cell_major_reordering():
    x = torch.randn(2, 3, 16, 32)
    for p in (1, 2, 4, 8):
        assert torch.equal(fold(x, p), F.pixel_unshuffle(x, p))
    channels_last = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    block = ConvBlock(3 * 16, 5, kernel=1).double()
    want = block(fold(x.double(), 4)).permute(0, 2, 3, 1)  # the 1x1 block over fold's channels
    for cells in (x, channels_last):
        got = block.forward_rows(fold_rows(cells.double(), 4), fold_weight(block.conv.weight, 3, 4))
        torch.testing.assert_close(got, want)


def _model(impl: str, kernel: int = 1, patch: int = 4, dtype=torch.float64) -> FBAM:
    torch.manual_seed(0)
    cfg = ModelConfig(rows=16, cols=32, embed=EmbeddingConfig(dim=3, codepoints=100, hash_buckets=8, impl=impl),
                      frame_head=FrameHeadConfig(conv_channels=[6, 8], patch=patch, kernel=kernel, width=8, blocks=1,
                                                 heads=2, ffn_mult=2, out_dim=8),
                      integrator=IntegratorConfig(hidden=8, layers=1, lstm_impl="torch"))
    return FBAM(cfg, 20).to(dtype)


@pytest.mark.parametrize("kernel,patch", [(1, 4), (1, 2), (1, 1), (3, 2), (3, 1)])
def test_frame_head_on_the_numba_path_equals_the_torch_path(kernel, patch):
    # (1, p > 1): the patch stem straight from the cells' integers; otherwise the materialised cells.
    a, b = _model("torch", kernel, patch), _model("numba", kernel, patch)
    x = typing_frames(T=6, B=2)
    want, got = a.embed_frames(x), b.embed_frames(x)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    w = torch.randn(want.shape, dtype=want.dtype, generator=torch.Generator().manual_seed(2))
    (want * w).sum().backward()
    (got * w).sum().backward()
    ga, gb = _grads(a), _grads(b)
    assert ga.keys() == gb.keys()
    for name in ga:
        torch.testing.assert_close(gb[name], ga[name], rtol=1e-9, atol=1e-12, msg=name)


def test_a_one_cell_change_reaches_the_frame_vector_through_the_patch_stem():
    model = _model("numba", dtype=torch.float32)
    x = typing_frames(T=2, B=1)
    x.chars[1] = x.chars[0]
    x.cursor[1] = x.cursor[0]
    e = model.embed_frames(x)  # (2, 1, 8): frame 1 equals frame 0, copied patch by patch
    assert torch.equal(e[0], e[1])
    x.chars[1, 0, 15, 31] += 1  # the bottom-right cell of the last patch
    assert not torch.equal(model.embed_frames(x)[1], e[1])


def test_pointwise_kernel_option_is_checked_and_sizes_the_first_block():
    with pytest.raises(ConfigError, match="kernel"):
        load_config(TrainConfig, "configs/debug.yaml", ["model.frame_head.kernel=2"])
    with pytest.raises(ConfigError, match="impl"):
        load_config(TrainConfig, "configs/debug.yaml", ["model.embed.impl=cuda"])
    cfg = load_config(TrainConfig, "configs/cpu-experiment.yaml").model
    model = FBAM(cfg, 1024)
    assert model.frame_head.convs[0].conv.kernel_size == (1, 1)
    assert model.frame_head.convs[0].conv.in_channels == cfg.embed.dim * cfg.frame_head.patch**2
    assert model.frame_head.pos.shape[0] == 3 * 10  # 48x160 / (8 x 2) per side
    logits, _ = model(typing_frames(T=3, B=2, R=48, C=160))
    assert logits.shape == (3, 2, 1024)
