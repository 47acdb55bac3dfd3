"""The training run's one typed config: model + data/loop + optimizer + tokenizer.

Loaded with :func:`sessionforge.config.load_config` from ``configs/<name>.yaml`` plus
``--set key=value`` overrides; saved whole into ``RUN/config.yaml`` and every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sessionforge.model.config import ModelConfig


@dataclass
class LoopConfig:
    """Windows, streams, the BPTT mode and the loop's cadence (the ``train:`` section)."""

    # Sessions trained on, by the manifest's split column (train/val/test by repository);
    # all = every session. Data without splits (shard files, datasets built before splits)
    # is all train.
    split: Literal["train", "val", "test", "all"] = "train"
    window: int = 1024  # L: frames per window (per stream)
    batch: int = 32  # B: parallel streams per rank
    chunk: int = 64  # K: LSTM checkpoint interval = recompute chunk (time steps)
    frame_chunk: int = 0  # frame-head micro-batch in time steps (0 = chunk); bounds conv activations
    mode: Literal["streaming", "full"] = "streaming"  # full = plain backprop over the window (short L only)
    carry_state: bool = True  # truncated BPTT: carry the (detached) state across a stream's windows
    stream_windows: int = 16  # windows per stream unit: state resets when a stream starts a new unit
    steps: int = 10000
    seed: int = 0
    grad_clip: float = 1.0
    precision: Literal["auto", "fp32", "bf16", "fp64"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    device: Literal["auto", "cpu", "cuda"] = "auto"
    offload: Literal["auto", "on", "off"] = "auto"  # on a GPU: frame vectors in pinned host memory (auto = on)
    workers: int = 2  # decode threads (each stream is decoded by one of them)
    threads: int = 0  # torch CPU threads (0 = torch's default); 1 is fastest for tiny models on busy CPUs
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    position_buckets: int = 8  # loss_by_position: equal-width buckets over the window
    tensorboard: bool = False
    # Validation: every eval_every steps (0 = never; and at the last step) the loss on a fixed
    # set of eval_windows windows of the val sessions (of --val-data, else of --data), each
    # from a zero state, goes to metrics.jsonl as a val_loss row.
    eval_every: int = 0
    eval_windows: int = 32

    def __post_init__(self) -> None:
        for name in ("window", "batch", "chunk", "steps", "log_every", "checkpoint_every", "stream_windows",
                     "eval_windows"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1")
        if self.frame_chunk < 0 or self.workers < 0 or self.threads < 0 or self.position_buckets < 1:
            raise ValueError("train.frame_chunk and train.workers must be >= 0, position_buckets >= 1")
        if self.eval_every < 0:
            raise ValueError("train.eval_every must be >= 0 (0 = no validation)")


@dataclass
class OptimConfig:
    """AdamW, or Muon for the hidden matrices (:mod:`sessionforge.train.optim`), with linear
    warmup then cosine decay to ``min_lr_ratio * lr``."""

    name: Literal["adamw", "muon"] = "adamw"
    lr: float = 3e-4
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    warmup: int = 200
    min_lr_ratio: float = 0.1
    muon_momentum: float = 0.95  # Muon's (Nesterov) momentum; optim.name muon only


@dataclass
class TokenizerConfig:
    """Which action tokenizer to use, or how to build one from the training data."""

    path: str | None = None  # a tokenizer JSON; None = build from the data at start (saved in the run)
    vocab: int = 20000  # vocabulary size when building
    max_bytes: int = 8_000_000  # action bytes sampled when building


@dataclass
class TrainConfig:
    """Everything ``sessionforge train`` needs besides the data path."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: LoopConfig = field(default_factory=LoopConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
