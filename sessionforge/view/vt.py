"""Turn stored frames into VT100/xterm escape sequences.

:class:`ScreenEncoder` remembers the frame it last emitted and, for each new frame,
writes only the bytes that turn the old screen into the new one: cursor positioning
(CUP), SGR changes (24-bit palette colours, bold, italic, underline, blink, reverse,
strike) and the characters of changed cells. The player and the asciicast exporter
both use it, so what you watch is what the recording holds.

Safety: every cell is drawn as :func:`sessionforge.formats.cell_glyph` says (the same rule
as ``frame_text``, ``inspect`` and the PNG renderer): a stored code point is written
as-is only if it is a printable character of width 1 or 2; control characters,
zero-width characters, surrogates and orphan wide-character stubs become U+FFFD or a
space, so a frame can never send an escape sequence to the viewer's terminal.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sessionforge.formats import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
    ATTR_WIDE,
    cell_glyph,
)

_STUB_MAKER = "\u4e00"  # any double-width character: drawing it leaves a stub cell
# Attribute bit -> SGR parameter. WIDE is layout, not rendition, so it is absent.
_SGR_BITS = (
    (ATTR_BOLD, "1"),
    (ATTR_ITALIC, "3"),
    (ATTR_UNDERLINE, "4"),
    (ATTR_BLINK, "5"),
    (ATTR_REVERSE, "7"),
    (ATTR_STRIKE, "9"),
)
_STYLE_MASK = 0xFF & ~ATTR_WIDE
# Re-emitting up to this many unchanged cells is cheaper than a CUP sequence.
_MERGE_GAP = 4


def _sgr_colour(palette: Sequence[int], index: int, base: int) -> str:
    if 0 <= index < len(palette):
        rgb = int(palette[index])
        return f"{base};2;{(rgb >> 16) & 255};{(rgb >> 8) & 255};{rgb & 255}"
    return str(base + 1)  # 39 / 49: the terminal's default colour


def _pack(chars: np.ndarray, fg: np.ndarray, bg: np.ndarray, attrs: np.ndarray) -> np.ndarray:
    """One uint64 per cell (code point | fg << 32 | bg << 40 | attrs << 48): one compare per frame."""
    key = chars.astype(np.uint64)  # (R, C)
    key |= fg.astype(np.uint64) << np.uint64(32)
    key |= bg.astype(np.uint64) << np.uint64(40)
    key |= attrs.astype(np.uint64) << np.uint64(48)
    return key


_WIDE_BIT = np.uint64(ATTR_WIDE << 48)
_CHAR_BITS = np.uint64(0xFFFFFFFF)


def _wide_cells(keys: np.ndarray) -> np.ndarray:
    """Cells of packed rows that are the left half of a double-width character.  # (k, C) bool"""
    wide = (keys & _WIDE_BIT) != 0
    wide[:, :-1] |= (keys[:, 1:] & _CHAR_BITS) == 0
    return wide


class ScreenEncoder:
    """Stateful frame -> escape-sequence encoder for a ``rows`` x ``cols`` screen.

    The first :meth:`encode` (and the first after :meth:`reset`) redraws every cell;
    later calls emit only the difference to the previously encoded frame. The
    returned string assumes the receiving terminal has seen every earlier output.
    """

    def __init__(self, rows: int, cols: int, palette: Sequence[int], clear: bool = True):
        self.rows, self.cols = int(rows), int(cols)
        self.clear = clear  # clear the whole terminal before a full redraw
        self._fg = [_sgr_colour(palette, i, 38) for i in range(256)]
        self._bg = [_sgr_colour(palette, i, 48) for i in range(256)]
        self.reset()

    def reset(self) -> None:
        """Forget what the terminal shows: the next frame is drawn in full."""
        self._prev: np.ndarray | None = None  # packed cells of the last frame  # (R, C)
        self._pen: tuple[int, int, int] | None = None  # (fg, bg, style) last sent
        self._pos: tuple[int, int] | None = None  # terminal cursor, None = unknown
        self._visible: bool | None = None

    def forget_terminal_state(self) -> None:
        """Someone else wrote to the terminal: re-send pen, position and cursor visibility."""
        self._pen = None
        self._pos = None
        self._visible = None

    def encode(
        self,
        chars: np.ndarray,
        fg: np.ndarray,
        bg: np.ndarray,
        attrs: np.ndarray,
        cursor: Sequence[int],
    ) -> str:
        """Return the escape sequences that turn the last frame into this one.

        ``chars`` (R, C) uint32, ``fg``/``bg``/``attrs`` (R, C) uint8,
        ``cursor`` = (row, col, visible). Arrays must match the encoder's size.
        """
        assert chars.shape == (self.rows, self.cols), chars.shape
        out: list[str] = []
        key = _pack(chars, fg, bg, attrs)  # (R, C) uint64
        prev = self._prev
        if prev is None:
            # Unknown screen: reset the pen (and clear), then draw every cell.
            out.append("\x1b[0m\x1b[H\x1b[2J" if self.clear else "\x1b[0m")
            self._pen = (-1, -1, 0)
            self._pos = (0, 0) if self.clear else None
            every = np.arange(self.cols)
            for r in range(self.rows):
                self._emit_row(out, r, every, chars, fg, bg, attrs)
        else:
            diff = key != prev  # (R, C)
            rows = np.flatnonzero(diff.any(axis=1))
            if rows.size:
                d = diff[rows]  # (k, C)
                # Touching either half of a wide character (old or new) redraws both
                # halves: terminals erase a wide glyph when half of it is overwritten.
                wide = _wide_cells(key[rows]) | _wide_cells(prev[rows])  # (k, C)
                grown = d.copy()
                grown[:, 1:] |= d[:, :-1] & wide[:, :-1]
                grown[:, :-1] |= d[:, 1:] & wide[:, :-1]
                for i, r in enumerate(rows.tolist()):
                    self._emit_row(out, r, np.flatnonzero(grown[i]), chars, fg, bg, attrs)
        self._emit_cursor(out, cursor, chars, fg, bg, attrs)
        self._prev = key
        return "".join(out)

    # -- internals -----------------------------------------------------------------

    def _set_pen(self, out: list[str], f: int, b: int, style: int) -> None:
        pen = self._pen
        if pen is not None and pen == (f, b, style):
            return
        if pen is None or pen[2] != style:
            params = ["0"] + [p for bit, p in _SGR_BITS if style & bit]
            params += [self._fg[f], self._bg[b]]
        else:
            params = []
            if pen[0] != f:
                params.append(self._fg[f])
            if pen[1] != b:
                params.append(self._bg[b])
        out.append("\x1b[" + ";".join(params) + "m")
        self._pen = (f, b, style)

    def _move(self, out: list[str], r: int, c: int) -> None:
        if self._pos != (r, c):
            out.append(f"\x1b[{r + 1};{c + 1}H")
            self._pos = (r, c)

    def _emit_row(self, out, r, cols, chars, fg, bg, attrs) -> None:
        # Group changed columns into runs, merging small gaps (cheaper than a CUP).
        runs: list[list[int]] = []
        for c in cols.tolist():
            if runs and c - runs[-1][1] <= _MERGE_GAP:
                runs[-1][1] = c + 1
            else:
                runs.append([c, c + 1])
        crow, frow, brow, arow = chars[r].tolist(), fg[r].tolist(), bg[r].tolist(), attrs[r].tolist()
        ncols = self.cols
        for start, stop in runs:
            if start > 0 and crow[start] == 0 and cell_glyph(crow[start - 1])[1] == 2:
                start -= 1  # never start on the right half of a wide character
            self._move(out, r, start)
            c = start
            while c < stop:
                code = crow[c]
                if code == 0 and c > 0:
                    # An orphan stub (its wide character was overwritten). Terminals make
                    # one only by drawing a wide character and overwriting its left half.
                    end = c  # a chain of orphan stubs is made right to left
                    while end + 1 < ncols and crow[end + 1] == 0:
                        end += 1
                    for p in range(end - 1, c - 2, -1):
                        self._move(out, r, p)
                        self._set_pen(out, frow[p + 1], brow[p + 1], arow[p + 1] & _STYLE_MASK)
                        out.append(_STUB_MAKER)
                        self._pos = (r, p + 2) if p + 2 < ncols else None
                    # Now restore the cell on the left: a narrow character, or the wide
                    # character two cells left whose stub the maker just replaced.
                    left = c - 1
                    if crow[left] == 0 and left > 0 and cell_glyph(crow[left - 1])[1] == 2:
                        left -= 1
                    self._move(out, r, left)
                    self._set_pen(out, frow[left], brow[left], arow[left] & _STYLE_MASK)
                    out.append(cell_glyph(crow[left])[0])
                    self._pos = (r, c)
                    if end + 1 < ncols:
                        self._move(out, r, end + 1)
                    c = end + 1
                    continue
                pen = (frow[c], brow[c], arow[c] & _STYLE_MASK)
                if pen != self._pen:
                    self._set_pen(out, *pen)
                text, width = cell_glyph(code)
                out.append(text)
                if width == 2 and c + 1 < ncols and crow[c + 1] != 0:
                    # A wide character whose right half was overwritten later: draw it,
                    # then draw the right-hand cell over its stub, as the terminal did.
                    self._pos = (r, c + 2) if c + 2 < ncols else None
                    self._move(out, r, c + 1)
                    c += 1
                    stop = max(stop, c + 1)
                    continue
                c += width
                self._pos = (r, c) if c < ncols else None
            # A character drawn into the last column leaves the terminal in its
            # "pending wrap" state: the next position is not simply c.
            self._pos = (r, c) if c < ncols else None

    def _emit_cursor(self, out, cursor, chars, fg, bg, attrs) -> None:
        row, col, visible = int(cursor[0]), int(cursor[1]), bool(cursor[2])
        row = min(max(row, 0), self.rows - 1)
        if col >= self.cols:
            # The recorded terminal sat in pending-wrap state after writing the last
            # column; redrawing that cell recreates exactly that state.
            c = self.cols - 1
            if c > 0 and chars[row, c] == 0 and cell_glyph(int(chars[row, c - 1]))[1] == 2:
                c -= 1
            self._move(out, row, c)
            text, width = cell_glyph(int(chars[row, c]))
            self._set_pen(out, int(fg[row, c]), int(bg[row, c]), int(attrs[row, c]) & _STYLE_MASK)
            out.append(text)
            self._pos = None
        else:
            self._move(out, row, max(col, 0))
        if visible != self._visible:
            out.append("\x1b[?25h" if visible else "\x1b[?25l")
            self._visible = visible
