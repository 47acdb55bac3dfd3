"""In-memory window sources and tiny model configs shared by the train tests."""

from __future__ import annotations

import torch

from sessionforge.model.config import EmbeddingConfig, FrameHeadConfig, IntegratorConfig, ModelConfig
from sessionforge.model.embedding import FrameInputs


def tiny_model_config(rows: int = 8, cols: int = 16, layers: int = 2, dropout: float = 0.0) -> ModelConfig:
    """A model small enough for fp64 gradient checks in a fraction of a second."""
    return ModelConfig(
        rows=rows,
        cols=cols,
        embed=EmbeddingConfig(dim=4, codepoints=128, hash_buckets=8),
        frame_head=FrameHeadConfig(conv_channels=[4, 8], width=8, blocks=1, heads=2, ffn_mult=2, out_dim=8,
                                   dropout=dropout),
        integrator=IntegratorConfig(hidden=8, layers=layers, dropout=dropout, lstm_impl="torch"),
    )


def random_frames(T: int, B: int, rows: int, cols: int, seed: int = 0) -> FrameInputs:
    """Random frames with a visible cursor somewhere."""
    g = torch.Generator().manual_seed(seed)
    u8 = lambda hi: torch.randint(0, hi, (T, B, rows, cols), generator=g, dtype=torch.uint8)  # noqa: E731
    cursor = torch.stack([torch.randint(0, rows, (T, B), generator=g), torch.randint(0, cols, (T, B), generator=g),
                          torch.ones(T, B, dtype=torch.int64)], dim=-1).int()
    chars = torch.randint(0, 300, (T, B, rows, cols), generator=g, dtype=torch.int32)
    palette = torch.randint(0, 256, (B, 256, 3), generator=g, dtype=torch.uint8)
    return FrameInputs(chars, u8(16), u8(16), u8(128), cursor, palette)


class TensorWindow:
    """A WindowSource over frames already in memory; counts how often frames are read."""

    def __init__(self, frames: FrameInputs, targets: torch.Tensor) -> None:
        self.x, self.tgt = frames, targets
        self.length = frames.steps
        self.reads = 0

    def frames(self, t0: int, t1: int) -> FrameInputs:
        self.reads += t1 - t0
        return self.x.slice(t0, t1)

    def targets(self) -> torch.Tensor:
        return self.tgt


def tiny_run_config(**train_overrides):
    """A TrainConfig for 8x32 synthetic shards that runs a step in well under a second."""
    from sessionforge.train.config import LoopConfig, OptimConfig, TokenizerConfig, TrainConfig

    loop = dict(window=12, batch=2, chunk=5, stream_windows=3, steps=4, seed=0, log_every=1,
                checkpoint_every=2, keep_checkpoints=5, workers=0, threads=1)
    loop.update(train_overrides)
    return TrainConfig(
        model=tiny_model_config(8, 32, layers=1),
        train=LoopConfig(**loop),
        optim=OptimConfig(lr=1e-2, weight_decay=0.0, warmup=2),
        tokenizer=TokenizerConfig(vocab=420),
    )
