"""FBAM model: sizes from config, the paper-scale parameter count, embedding semantics, errors."""

from __future__ import annotations

import pytest
import torch

from sessionforge.config import load_config
from sessionforge.errors import ConfigError
from sessionforge.model.config import EmbeddingConfig, IntegratorConfig, ModelConfig
from sessionforge.model.embedding import CellEmbedding, FrameInputs
from sessionforge.model.fbam import FBAM, count_parameters
from sessionforge.model.integrators import LSTMIntegrator, build_integrator
from sessionforge.train.config import TrainConfig


def _frames(T=2, B=2, R=8, C=16, seed=0) -> FrameInputs:
    g = torch.Generator().manual_seed(seed)
    u8 = lambda: torch.randint(0, 8, (T, B, R, C), generator=g, dtype=torch.uint8)  # noqa: E731
    chars = torch.randint(32, 127, (T, B, R, C), generator=g, dtype=torch.int32)
    cursor = torch.tensor([2, 3, 1], dtype=torch.int32).expand(T, B, 3).clone()
    return FrameInputs(chars, u8(), u8(), u8(), cursor, torch.randint(0, 256, (B, 256, 3), generator=g,
                                                                          dtype=torch.uint8))


def test_paper_scale_config_is_about_1e8_parameters_on_the_meta_device():
    cfg = load_config(TrainConfig, "configs/fbam-base.yaml")
    assert (cfg.model.rows, cfg.model.cols, cfg.model.frame_head.width) == (48, 160, 1024)
    with torch.device("meta"):
        model = FBAM(cfg.model, cfg.tokenizer.vocab)
    n = count_parameters(model)
    assert 5e7 < n < 2e8, n
    assert all(p.device.type == "meta" for p in model.parameters())


def test_debug_model_runs_forward_on_48x160_frames():
    cfg = load_config(TrainConfig, "configs/debug.yaml").model
    model = FBAM(cfg, 500)
    logits, state = model(_frames(T=3, B=2, R=48, C=160))
    assert logits.shape == (3, 2, 500)
    assert len(state) == cfg.integrator.layers and state[0][0].shape == (2, cfg.integrator.hidden)
    assert count_parameters(model) < 200_000


def test_bad_model_configs_are_clear_config_errors():
    with pytest.raises(ConfigError, match="not divisible by 4"):
        load_config(TrainConfig, None, ["model.rows=46"])  # two 2x2-pooling conv blocks by default
    with pytest.raises(ConfigError, match="unknown key .*'widht'"):
        load_config(TrainConfig, "configs/debug.yaml", ["model.frame_head.widht=3"])
    with pytest.raises(ConfigError, match="expected an integer"):
        load_config(TrainConfig, "configs/debug.yaml", ["train.window=long"])
    with pytest.raises(ConfigError, match="lstm_impl"):
        load_config(TrainConfig, "configs/debug.yaml", ["model.integrator.lstm_impl=fast"])


def test_codepoints_beyond_the_vocabulary_are_hashed_into_buckets():
    emb = CellEmbedding(8, 16, EmbeddingConfig(dim=4, codepoints=128, hash_buckets=16))
    ids = emb.codepoint_ids(torch.tensor([0, 65, 127, 128, 0x4E2D, 0x1F600, 0x10FFFF]))
    assert ids[:3].tolist() == [0, 65, 127]
    assert ((ids[3:] >= 128) & (ids[3:] < 144)).all()
    assert len(set(ids[3:].tolist())) > 1  # not all in one bucket


def test_embedding_sees_colours_by_rgb_and_marks_only_the_cursor_cell():
    emb = CellEmbedding(8, 16, EmbeddingConfig(dim=4, codepoints=128, hash_buckets=16))
    x = _frames(T=1, B=1)
    base = emb(x)  # (1, D, R, C)
    # The same RGB under another palette index gives the same embedding.
    pal = x.palette.clone()
    pal[0, 200] = pal[0, int(x.fg[0, 0, 0, 0])]
    fg = x.fg.clone()
    fg[0, 0, 0, 0] = 200
    same = emb(FrameInputs(x.chars, fg, x.bg, x.attrs, x.cursor, pal))
    torch.testing.assert_close(same, base)
    # Hiding the cursor changes exactly one cell: (2, 3).
    hidden = x.cursor.clone()
    hidden[..., 2] = 0
    diff = (emb(FrameInputs(x.chars, x.fg, x.bg, x.attrs, hidden, x.palette)) - base).abs().sum(dim=1)[0]
    assert diff[2, 3] > 0 and int((diff > 0).sum()) == 1
    with pytest.raises(ValueError, match="8x16"):
        emb(_frames(T=1, B=1, R=8, C=32))


def test_lstm_state_carries_exactly_across_split_sequences():
    torch.manual_seed(0)
    lstm = LSTMIntegrator(6, IntegratorConfig(hidden=5, layers=2, lstm_impl="torch")).double()
    x = torch.randn(9, 3, 6, dtype=torch.float64)
    whole, s_whole = lstm(x)
    a, s = lstm(x[:4])
    b, s2 = lstm(x[4:], s)
    torch.testing.assert_close(torch.cat([a, b]), whole)
    for (h1, c1), (h2, c2) in zip(s_whole, s2):
        torch.testing.assert_close(h1, h2)
        torch.testing.assert_close(c1, c2)


def test_registry_builds_every_backbone_with_the_shared_contract():
    x = torch.randn(5, 2, 6)
    for kind in ("lstm", "transformer", "linear-rnn"):
        net = build_integrator(6, IntegratorConfig(kind=kind, hidden=8, layers=1, heads=2))
        y, _ = net(x)
        assert y.shape == (5, 2, 8), kind
    with pytest.raises(ValueError, match="unknown integrator"):
        build_integrator(6, IntegratorConfig(kind="gru", hidden=8, layers=1))  # type: ignore[arg-type]


def test_model_config_defaults_are_the_paper_frame_size():
    cfg = ModelConfig()
    assert (cfg.rows, cfg.cols) == (48, 160)


def test_cell_gathers_equal_embedding_lookups_in_values_and_gradients():
    # The embedding gathers rows with index_select (cheaper backward on a CPU); it must be the
    # same function as the F.embedding lookups it replaced, gradients included.
    import torch.nn.functional as F

    from sessionforge.model.embedding import _gather

    g = torch.Generator().manual_seed(3)
    table = torch.randn(40, 5, generator=g, dtype=torch.float64, requires_grad=True)
    index = torch.randint(0, 40, (3, 70), generator=g)
    weights = torch.randn(3, 70, 5, generator=g, dtype=torch.float64)
    (got,) = torch.autograd.grad((_gather(table, index) * weights).sum(), table)
    (want,) = torch.autograd.grad((F.embedding(index, table) * weights).sum(), table)
    torch.testing.assert_close(_gather(table, index), F.embedding(index, table))
    torch.testing.assert_close(got, want)


def test_patch_folds_cells_before_the_first_conv():
    cfg = load_config(TrainConfig, "configs/debug.yaml",
                      ["model.frame_head.patch=4", "model.frame_head.conv_channels=[16]"]).model
    model = FBAM(cfg, 50)
    assert model.frame_head.convs[0].conv.in_channels == cfg.embed.dim * 16
    assert model.frame_head.pos.shape[0] == (48 // 8) * (160 // 8)   # patch 4, one 2x2 pool
    logits, _ = model(_frames(T=2, B=2, R=48, C=160))
    assert logits.shape == (2, 2, 50)
    # A frame that differs in one cell gives a different frame vector (nothing is dropped).
    x = _frames(T=1, B=1, R=48, C=160)
    y = _frames(T=1, B=1, R=48, C=160)
    y.chars[0, 0, 47, 159] = x.chars[0, 0, 47, 159] + 1
    assert not torch.equal(model.embed_frames(x), model.embed_frames(y))
    with pytest.raises(ConfigError, match="not divisible by 16.*patch 4"):
        load_config(TrainConfig, "configs/debug.yaml",
                    ["model.frame_head.patch=4", "model.frame_head.conv_channels=[16,16]", "model.rows=40"])
