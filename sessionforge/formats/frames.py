"""Public data types of termstream: attribute bits, :class:`Frames`, :class:`SessionInfo`,
:func:`frame_text` (a frame as safe text) and `cell_glyph` (the one rule for showing a
stored code point, shared by text output and the viewers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from numpy.typing import ArrayLike

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

    def text(self, t: int, *, rstrip: bool = True) -> list[str]:
        """Frame ``t`` as safe row strings: :func:`frame_text` of its chars and attrs."""
        return frame_text(self.chars[t], self.attrs[t], rstrip=rstrip)


REPLACEMENT = "\ufffd"  # shown for a cell whose code point cannot be printed as one glyph


def frame_text(chars: ArrayLike, attrs: ArrayLike | None = None, *, rstrip: bool = True) -> list[str]:
    """One frame's (R, C) code points as R lines of text that are safe to print.

    Each cell becomes exactly one character, except the right half of a wide character,
    which is dropped: the wide glyph before it already covers both columns, so the line
    stays aligned with the grid and the character index of cell ``c`` is ``c`` minus
    the right halves before it. A right half is a code point 0 right after a cell
    marked ``ATTR_WIDE`` in ``attrs`` (the format's own marking) or, if that cell is
    not marked (``attrs`` None or hand-built planes), holding a two-column glyph.

    Glyphs: a printable character of width 1 or 2 (by ``wcwidth``, the table pyte
    uses) as itself; code point 0 outside a wide character (an empty cell) as a space;
    anything else - C0/C1 controls, DEL, surrogates, zero-width characters (a
    combining mark alone in a cell), values above U+10FFFF - as U+FFFD, so no stored
    cell can drive a terminal and each takes one column. ``rstrip`` drops the spaces ending each line.
    """
    cps = np.asarray(chars)
    wide = np.zeros(cps.shape, bool) if attrs is None else (np.asarray(attrs) & ATTR_WIDE) != 0  # (R, C)
    lines = []
    for row, marks in zip(cps.tolist(), wide.tolist()):
        parts = []
        covers_next = False
        for cp, marked in zip(row, marks):
            if covers_next and cp == 0:
                covers_next = False
                continue  # the right half of the wide character before it
            text, width = cell_glyph(cp)
            parts.append(text)
            covers_next = marked or width == 2
        line = "".join(parts)
        lines.append(line.rstrip(" ") if rstrip else line)
    return lines


@lru_cache(maxsize=65536)
def cell_glyph(cp: int) -> tuple[str, int]:
    """``(text, columns)`` to show for a stored code point; the rule every view follows.

    A printable character of width 1 or 2 (by ``wcwidth``, the table pyte and most
    terminals use, so a terminal's cursor advances as the stored grid says) is itself;
    code point 0 (an empty cell, or a wide character's stub with nothing before it) is a
    space; anything else - controls, surrogates, zero-width characters, values above
    U+10FFFF - is U+FFFD of width 1, so no stored cell can send an escape sequence.
    Used by :func:`frame_text`, the terminal encoder and the PNG renderer.
    """
    if 32 <= cp < 127:
        return chr(cp), 1
    if cp == 0:
        return " ", 1
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return REPLACEMENT, 1
    from wcwidth import wcwidth  # why: ~18 ms to import, and only text output needs it

    w = wcwidth(chr(cp))
    return (chr(cp), w) if w in (1, 2) else (REPLACEMENT, 1)


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
