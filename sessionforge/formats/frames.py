"""Public data types of termstream: attribute bits, :class:`Frames`, :class:`SessionInfo`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Attribute bits of a cell (uint8 plane ``attrs``).
ATTR_BOLD = 1
ATTR_ITALIC = 2
ATTR_UNDERLINE = 4
ATTR_STRIKE = 8
ATTR_REVERSE = 16
ATTR_BLINK = 32
ATTR_WIDE = 64  # first cell of a double-width character; its right half is stored as code point 0


def palette_rgb(palette: list[int] | tuple[int, ...]) -> np.ndarray:
    """Palette of 0xRRGGBB ints -> (P, 3) uint8 array of [r, g, b]."""
    p = np.asarray(palette, dtype=np.uint32).reshape(-1)
    return np.stack([(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF], axis=1).astype(np.uint8)  # (P, 3)


@dataclass
class Frames:
    """A run of consecutive frames of one session, as numpy arrays.

    ``chars`` (T, R, C) uint32 code points; ``fg``/``bg`` (T, R, C) uint8 palette
    indices; ``attrs`` (T, R, C) uint8 attribute bits; ``cursor`` (T, 3) int32
    [row, col, visible]; the action bytes of frame t are
    ``action_data[action_offsets[t]:action_offsets[t + 1]]``; ``start`` is the index
    of the first frame within its session; ``palette`` (P, 3) uint8 RGB.
    """

    chars: np.ndarray
    fg: np.ndarray
    bg: np.ndarray
    attrs: np.ndarray
    cursor: np.ndarray
    action_data: bytes
    action_offsets: np.ndarray
    start: int = 0
    palette: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))

    def __len__(self) -> int:
        return int(self.chars.shape[0])

    def action(self, t: int) -> bytes:
        """The action bytes that produced frame ``t`` (0-based within this Frames)."""
        a, b = int(self.action_offsets[t]), int(self.action_offsets[t + 1])
        return self.action_data[a:b]

    @classmethod
    def empty(cls, frames: int, rows: int, cols: int) -> "Frames":
        """Allocate buffers for ``frames`` frames (to pass as ``out=`` and reuse)."""
        shape = (frames, rows, cols)
        return cls(
            chars=np.zeros(shape, np.uint32),
            fg=np.zeros(shape, np.uint8),
            bg=np.zeros(shape, np.uint8),
            attrs=np.zeros(shape, np.uint8),
            cursor=np.zeros((frames, 3), np.int32),
            action_data=b"",
            action_offsets=np.zeros(frames + 1, np.int64),
        )

    def text(self, t: int) -> list[str]:
        """Frame ``t`` as row strings: control code points shown as spaces, wide right halves dropped.

        Safe to print: no code point that a terminal treats as a control survives.
        """
        lines = []
        for r in range(self.chars.shape[1]):
            cps = self.chars[t, r].tolist()
            wide = (self.attrs[t, r] & ATTR_WIDE).tolist()
            out = []
            for c, cp in enumerate(cps):
                if cp == 0 and c > 0 and wide[c - 1]:
                    continue  # right half of a double-width character
                out.append(chr(cp) if _printable(cp) else " ")
            lines.append("".join(out))
        return lines


def _printable(cp: int) -> bool:
    # C0/C1 controls and DEL could drive a terminal; surrogates cannot be encoded.
    return 32 <= cp <= 0x10FFFF and not 0x7F <= cp <= 0x9F and not 0xD800 <= cp <= 0xDFFF


@dataclass
class SessionInfo:
    """What the index says about one session of a shard."""

    index: int
    meta: dict[str, Any]
    palette: list[int]
    frames: int
    action_bytes: int
    compressed_bytes: int

    @property
    def palette_rgb(self) -> np.ndarray:
        """The palette as a (P, 3) uint8 array."""
        return palette_rgb(self.palette)

    @property
    def bytes_per_frame(self) -> float:
        """Stored bytes (session header + frame blocks) per frame."""
        return self.compressed_bytes / self.frames if self.frames else 0.0
