"""Typed model configuration (loaded through :mod:`sessionforge.config`).

Every size of the FBAM model comes from here; ``configs/debug.yaml`` and
``configs/fbam-base.yaml`` pick values. The defaults are the paper-scale model
(48x160 frames, 1024 wide, about 10^8 parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class EmbeddingConfig:
    """Per-cell embedding: code point + colours + attributes + position + cursor."""

    dim: int = 64  # width of one cell's embedding (the first conv's input channels)
    codepoints: int = 65536  # code points below this get their own row (the BMP by default)
    hash_buckets: int = 4096  # code points above `codepoints` are hashed into this many rows
    # How the per-cell gathers run: "torch" (index_select, any device) or "numba" (one compiled
    # pass over the cells forward and one backward, on a CPU: the same values, ~5x cheaper
    # where a small model spends most of its time; on a GPU the torch path runs).
    impl: Literal["torch", "numba"] = "torch"

    def __post_init__(self) -> None:
        if self.dim < 1 or self.codepoints < 1 or self.hash_buckets < 1:
            raise ValueError("embed.dim, embed.codepoints and embed.hash_buckets must be >= 1")
        if self.codepoints + self.hash_buckets > 2**31:
            raise ValueError("embed.codepoints + embed.hash_buckets must be < 2^31")


@dataclass
class FrameHeadConfig:
    """Conv downsampling blocks, then bidirectional Transformer blocks inside one frame."""

    conv_channels: list[int] = field(default_factory=lambda: [128, 256])  # one 2x2-pooling block each
    # Cells folded into one position before the first conv (pixel unshuffle: p x p cells ->
    # one vector of p*p*embed.dim). 1 = none. It moves the first conv, norm and pooling off
    # the full 48x160 grid, where a small model spends most of its time on a CPU.
    patch: int = 1
    # Conv kernel of every block: 3 = 3x3 with dilation 2 (reaches two cells away on each
    # side); 1 = pointwise, so the first block after a patch fold is a ViT-style patch
    # embedding (p*p cells -> one vector) at a ninth of the 3x3 block's multiply-adds.
    kernel: Literal[1, 3] = 3
    width: int = 1024  # Transformer width inside a frame
    blocks: int = 3
    heads: int = 8
    ffn_mult: int = 4
    dropout: float = 0.0
    pool: Literal["mean", "cls"] = "mean"
    out_dim: int = 1024  # the frame vector fed to the integrator
    out_norm: bool = True  # LayerNorm on the frame vector: keeps frame-to-frame differences visible

    def __post_init__(self) -> None:
        if not self.conv_channels:
            raise ValueError("frame_head.conv_channels must name at least one block")
        if self.patch < 1:
            raise ValueError("frame_head.patch must be >= 1")
        if self.kernel not in (1, 3):
            raise ValueError(f"frame_head.kernel must be 1 or 3, not {self.kernel}")
        if self.width % self.heads:
            raise ValueError(f"frame_head.width {self.width} is not divisible by heads {self.heads}")


@dataclass
class IntegratorConfig:
    """The recurrent (or baseline) integrator over time; contract shared with the backbones."""

    kind: Literal["lstm", "transformer", "linear-rnn"] = "lstm"
    hidden: int = 1024
    layers: int = 2
    heads: int = 8
    dropout: float = 0.0
    lstm_impl: Literal["auto", "torch", "triton", "cudnn"] = "auto"
    ffn_mult: int = 4


@dataclass
class ModelConfig:
    """The whole FBAM model. ``rows``/``cols`` must equal the dataset's frame size."""

    rows: int = 48
    cols: int = 160
    embed: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    frame_head: FrameHeadConfig = field(default_factory=FrameHeadConfig)
    integrator: IntegratorConfig = field(default_factory=IntegratorConfig)

    def __post_init__(self) -> None:
        factor = self.frame_head.patch * 2 ** len(self.frame_head.conv_channels)
        if self.rows % factor or self.cols % factor:
            raise ValueError(
                f"frame {self.rows}x{self.cols} is not divisible by {factor} "
                f"(patch {self.frame_head.patch} x {len(self.frame_head.conv_channels)} 2x2-pooling conv blocks)"
            )
