"""Frame head: one terminal screen -> one vector, with attention only inside the frame.

Conv blocks (3x3, dilation 2, RMSNorm, GELU, 2x2 average pool) shrink the cell grid
(48x160 -> 12x40 = 480 tokens with two blocks); a linear map lifts the channels to
the Transformer width; bidirectional Transformer blocks mix the tokens of one frame;
a mean (or CLS) pool gives the frame vector. No attention crosses frames: all time
mixing is the integrator's job, so the head runs in parallel over (T*B) frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import FrameHeadConfig


class ChannelRMSNorm(nn.Module):
    """RMSNorm over the channel dim of a (N, C, H, W) map."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        rms = torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)
        return x * rms * self.weight[None, :, None, None]


class ConvBlock(nn.Module):
    """3x3 dilation-2 conv, RMSNorm, GELU, 2x2 average pool: halves H and W."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        # padding 2 keeps H, W: a dilated 3x3 reaches two cells away on each side.
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, dilation=2, padding=2)
        self.norm = ChannelRMSNorm(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, Cin, H, W) -> (N, Cout, H/2, W/2)."""
        return F.avg_pool2d(F.gelu(self.norm(self.conv(x))), 2)


class EncoderBlock(nn.Module):
    """Pre-norm bidirectional Transformer block (no mask: every token sees the whole frame)."""

    def __init__(self, width: int, heads: int, ffn_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.RMSNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.RMSNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, ffn_mult * width), nn.GELU(), nn.Linear(ffn_mult * width, width))
        self.drop = nn.Dropout(dropout)
        # Residual branches start at zero: each block begins as the identity, so the
        # small frame-to-frame differences (often one cell) survive into the frame
        # vector instead of being drowned by a branch that first learns a constant.
        for lin in (self.proj, self.ffn[2]):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, S, W) -> (N, S, W)."""
        N, S, W = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(N, S, 3, self.heads, W // self.heads).unbind(2)  # (N, S, h, d)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))  # (N, h, S, d)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(N, S, W)))
        return x + self.drop(self.ffn(self.norm2(x)))


class FrameHead(nn.Module):
    """(N, D_cell, R, C) cell map -> (N, out_dim) frame vectors."""

    def __init__(self, rows: int, cols: int, cell_dim: int, cfg: FrameHeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        chans = [cell_dim * cfg.patch**2, *cfg.conv_channels]
        self.convs = nn.ModuleList(ConvBlock(a, b) for a, b in zip(chans[:-1], chans[1:]))
        factor = cfg.patch * 2 ** len(cfg.conv_channels)
        tokens = (rows // factor) * (cols // factor)
        self.lift = nn.Linear(chans[-1], cfg.width)
        self.pos = nn.Parameter(torch.randn(tokens, cfg.width) * 0.02)
        self.cls = nn.Parameter(torch.randn(cfg.width) * 0.02) if cfg.pool == "cls" else None
        self.blocks = nn.ModuleList(
            EncoderBlock(cfg.width, cfg.heads, cfg.ffn_mult, cfg.dropout) for _ in range(cfg.blocks)
        )
        self.norm = nn.RMSNorm(cfg.width)
        self.out = nn.Linear(cfg.width, cfg.out_dim)
        # Consecutive frames often differ in one cell, so the frame vector is a large
        # constant part plus a small varying one; centring and scaling it helps the
        # integrator see the varying part early in training.
        self.out_norm = nn.LayerNorm(cfg.out_dim) if cfg.out_norm else nn.Identity()

    def forward(self, cells: torch.Tensor) -> torch.Tensor:
        """(N, D_cell, R, C) -> (N, out_dim)."""
        p = self.cfg.patch
        x = F.pixel_unshuffle(cells, p) if p > 1 else cells  # (N, D_cell*p*p, R/p, C/p)
        for conv in self.convs:
            x = conv(x)  # (N, c, H/2, W/2)
        x = self.lift(x.flatten(2).transpose(1, 2)) + self.pos  # (N, S, width)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)  # (N, 1+S, width)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        pooled = x[:, 0] if self.cls is not None else x.mean(dim=1)  # (N, width)
        return self.out_norm(self.out(pooled))  # (N, out_dim)
