"""Fixed frame palette and the mapping of pyte cells to frame plane values.

Index 0 is the default foreground, 1 the default background, 2-17 the 16 ANSI colours
(xterm values). The editor only uses those; any other colour pyte can hold (256-colour
or truecolour SGR) maps to the nearest palette entry, so every cell has an index.
"""

from __future__ import annotations

from typing import Any

from wcwidth import wcwidth

from ..formats import (
    ATTR_BLINK, ATTR_BOLD, ATTR_ITALIC, ATTR_REVERSE, ATTR_STRIKE, ATTR_UNDERLINE, ATTR_WIDE,
)

_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
_ANSI = (0x000000, 0xCD0000, 0x00CD00, 0xCDCD00, 0x0000EE, 0xCD00CD, 0x00CDCD, 0xE5E5E5,
         0x7F7F7F, 0xFF0000, 0x00FF00, 0xFFFF00, 0x5C5CFF, 0xFF00FF, 0x00FFFF, 0xFFFFFF)
PALETTE: list[int] = [0xE5E5E5, 0x000000, *_ANSI]
_COLOUR_INDEX: dict[str, int] = {n: 2 + i for i, n in enumerate(_NAMES)}
_COLOUR_INDEX.update({"bright" + n: 10 + i for i, n in enumerate(_NAMES)})


def _nearest(hexrgb: str) -> int:
    """Palette index nearest to an ``rrggbb`` colour (pyte's 256-colour / truecolour form)."""
    try:
        v = int(hexrgb, 16)
    except ValueError:
        return -1
    r, g, b = v >> 16, (v >> 8) & 255, v & 255
    best, best_d = 2, 1 << 30
    for i in range(2, len(PALETTE)):
        p = PALETTE[i]
        d = (r - (p >> 16)) ** 2 + (g - ((p >> 8) & 255)) ** 2 + (b - (p & 255)) ** 2
        if d < best_d:
            best, best_d = i, d
    return best


def _colour(name: str, default: int) -> int:
    if name == "default":
        return default
    i = _COLOUR_INDEX.get(name)
    if i is None:
        i = _nearest(name)
    return default if i < 0 else i


_CELL_CACHE: dict[Any, tuple[int, int, int, int]] = {}


def cell_value(ch: Any) -> tuple[int, int, int, int]:
    """Map a pyte ``Char`` to ``(code point, fg, bg, attrs)`` plane values (cached)."""
    v = _CELL_CACHE.get(ch)
    if v is not None:
        return v
    data = ch.data
    cp = ord(data[0]) if data else 0  # "" is the right half of a wide char
    a = ((ATTR_BOLD if ch.bold else 0) | (ATTR_ITALIC if ch.italics else 0)
         | (ATTR_UNDERLINE if ch.underscore else 0) | (ATTR_STRIKE if ch.strikethrough else 0)
         | (ATTR_REVERSE if ch.reverse else 0) | (ATTR_BLINK if ch.blink else 0))
    if data and wcwidth(data[0]) == 2:
        a |= ATTR_WIDE
    v = (cp, _colour(ch.fg, 0), _colour(ch.bg, 1), a)
    if len(_CELL_CACHE) < 1 << 16:
        _CELL_CACHE[ch] = v
    return v
