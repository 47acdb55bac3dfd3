"""A pyte terminal whose screen is mirrored into numpy frame planes, reading only changes.

:class:`Terminal` feeds bytes through ``pyte.ByteStream`` into a ``pyte.Screen``
subclass that records *where* each operation changed cells:

* ``draw`` records the column span it wrote; those cells are read back from pyte at
  snapshot time (reading a pyte cell costs ~0.2 us, a whole 160-column row ~35 us);
* erase-in-line / erase-characters fill the planes directly with the cursor's pen;
* ICH/DCH and scrolling (IND/RI at a margin) shift the planes the way pyte shifts its
  rows, after first reading any pending cells of the rows involved;
* every other operation (ED, IL, DL, DECALN, reset, mode changes, ...) is left to
  pyte's own ``dirty`` row set and its rows are read in full.

The planes therefore always equal a full read of pyte's screen after ``snapshot()``;
the tests check this against random byte feeds. Deviations from stock pyte, all for
input the editor never sends: DECCOLM (80/132 column switching) is ignored because
frames have a fixed size, and erase sequences with an unknown mode (``CSI 3 K``,
``CSI 4 J``), which make pyte raise, are ignored as a terminal would.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyte
from pyte import charsets as cs
from pyte import modes as mo
from wcwidth import wcwidth

from ..formats.frames import (
    ATTR_BLINK, ATTR_BOLD, ATTR_ITALIC, ATTR_REVERSE, ATTR_STRIKE, ATTR_UNDERLINE, ATTR_WIDE,
)

# Fixed palette: 0 default fg, 1 default bg, then the 16 ANSI colours (xterm values).
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


class _PenCache(dict):
    """char -> pyte Char drawn with one pen (pyte's ``attrs._replace(data=char)``, cached)."""

    def __init__(self, attrs: Any) -> None:
        super().__init__()
        self.attrs = attrs
        self.values: dict[str, tuple[int, int, int, int]] = {}  # char -> plane values

    def __missing__(self, ch: str) -> Any:
        v = self[ch] = self.attrs._replace(data=ch)
        self.values[ch] = cell_value(v)
        return v


class _TrackingScreen(pyte.Screen):
    """pyte.Screen that mirrors cell changes into the owning Terminal's planes."""

    def __init__(self, term: "Terminal", columns: int, lines: int) -> None:
        self._term = term
        self._pend: dict[int, list[int]] = {}  # row -> [lo, hi): cells to read at snapshot
        self._nscroll = 0
        self._pen_cache = _PenCache(None)
        self._pen_caches: dict[Any, _PenCache] = {}
        self._ready = False
        super().__init__(columns, lines)
        self._ready = True

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        if not self._ready:
            super().resize(lines, columns)
        # else: ignored, frames have a fixed size

    # -- helpers ---------------------------------------------------------------------
    def _mark(self, y: int, lo: int, hi: int) -> None:
        p = self._pend.get(y)
        if p is None:
            self._pend[y] = [lo, hi]
        else:
            if lo < p[0]:
                p[0] = lo
            if hi > p[1]:
                p[1] = hi

    def _flush_rows(self, rows: range) -> None:
        """Read now every pending or dirty cell of ``rows`` (before pyte moves them)."""
        t = self._term
        for y in rows:
            if y in self.dirty:
                t._read(y, 0, self.columns)
                self.dirty.discard(y)
            p = self._pend.pop(y, None)
            if p is not None:
                t._read(y, p[0], p[1])

    # -- tracked operations ---------------------------------------------------------------
    def draw(self, data: str) -> None:
        c = self.cursor
        y, x0 = c.y, c.x
        was_dirty = y in self.dirty
        n = len(data)
        if (x0 + n <= self.columns and data.isascii() and data.isprintable()
                and (self.g1_charset if self.charset else self.g0_charset) is cs.LAT1_MAP
                and mo.IRM not in self.mode):
            # Fast path, same result as pyte's draw: printable ASCII is one cell per
            # char, the Latin-1 map is the identity, nothing reaches the right edge
            # and insert mode is off, so the cells are the pen with each char.
            attrs = c.attrs
            cache = self._pen_cache
            if cache.attrs is not attrs:
                # SGR makes a new (equal-valued) pen object each time: share caches by value
                cache = self._pen_caches.get(attrs)
                if cache is None:
                    cache = self._pen_caches[attrs] = _PenCache(attrs)
                self._pen_cache = cache
            c.x = x0 + n
            if n == 1:
                self.buffer[y][x0] = cache[data]
                if not was_dirty:
                    # the cell is known: write the planes now instead of reading it back
                    t = self._term
                    v = cache.values[data]
                    i = y * self.columns + x0
                    mc, mf, mb, ma = t._mv
                    mc[i], mf[i], mb[i], ma[i] = v
                    t._changed(y, x0, x0 + 1)
                return
            self.buffer[y].update(zip(range(x0, x0 + n), map(cache.__getitem__, data)))
            if not was_dirty:
                self._mark(y, x0, x0 + n)
            return
        n0 = self._nscroll
        super().draw(data)
        y1 = c.y
        if y1 == y and self._nscroll == n0:
            if not was_dirty:
                self.dirty.discard(y)
                x1 = c.x
                lo = (x0 if x0 < x1 else x1) - 2  # combining chars touch x-1; edge overwrite x-2
                hi = (x1 if x1 > x0 else x0) + 2
                self._mark(y, lo if lo > 0 else 0, hi if hi < self.columns else self.columns)
            if x0 == 0 and y:
                # a combining char at column 0 joins the last cell of the row above
                self._mark(y - 1, self.columns - 1, self.columns)
        else:
            # it wrapped (maybe scrolling): read every row it can have touched in full,
            # including the row above for a combining char right after the wrap
            self.dirty.update(range(max(0, min(y, y1) - 1), max(y, y1) + 1))

    def _ich(self, count: int | None) -> None:
        """pyte's insert_characters, same resulting cells, without its per-column loop."""
        self.dirty.add(self.cursor.y)
        n = count or 1
        line = self.buffer[self.cursor.y]
        x, cols = self.cursor.x, self.columns
        # pyte walks from the right edge (key ``cols`` included) down to x, moving each
        # cell n to the right when it stays within ``cols`` and dropping the rest
        moved = [line[k] for k in range(x, cols - n + 1)]
        pop = line.pop
        for k in range(x, cols + 1):
            pop(k, None)
        line.update(zip(range(x + n, cols + 1), moved))

    def _dch(self, count: int | None) -> None:
        """pyte's delete_characters, same resulting cells, without its per-column loop."""
        self.dirty.add(self.cursor.y)
        n = count or 1
        line = self.buffer[self.cursor.y]
        x, cols = self.cursor.x, self.columns
        pop = line.pop
        dflt = self.default_char
        vals = [pop(k, dflt) for k in range(x + n, cols + 1)]
        for k in range(x, cols):
            pop(k, None)
        line.update(zip(range(x, x + len(vals)), vals))

    def insert_characters(self, count: int | None = None) -> None:
        y, x = self.cursor.y, self.cursor.x
        if y in self.dirty or x >= self.columns:
            self._ich(count)
            return
        self._flush_rows(range(y, y + 1))
        self._ich(count)
        self.dirty.discard(y)
        self._term._shift_right(y, x, count or 1, cell_value(self.buffer[y].default))

    def delete_characters(self, count: int | None = None) -> None:
        y, x = self.cursor.y, self.cursor.x
        line = self.buffer.get(y)
        if y in self.dirty or x >= self.columns or line is None or line.default != self.default_char:
            self._dch(count)
            return
        self._flush_rows(range(y, y + 1))
        self._dch(count)
        self.dirty.discard(y)
        n = count or 1
        self._term._shift_left(y, x, n)
        cols = self.columns
        self._mark(y, max(x, cols - n - 1), cols)  # cells pulled in from beyond the edge

    def erase_characters(self, count: int | None = None) -> None:
        y, x = self.cursor.y, self.cursor.x
        was_dirty = y in self.dirty
        super().erase_characters(count)
        if not was_dirty:
            self.dirty.discard(y)
            self._term._fill(y, x, min(x + (count or 1), self.columns), cell_value(self.cursor.attrs))

    def erase_in_display(self, how: int = 0, *args: Any, **kwargs: Any) -> None:
        if how in (0, 1, 2, 3):  # pyte raises on other values; a terminal ignores them
            super().erase_in_display(how, *args, **kwargs)

    def erase_in_line(self, how: int = 0, private: bool = False) -> None:
        if how not in (0, 1, 2):
            return  # pyte raises on other values; a terminal ignores them
        y, x = self.cursor.y, self.cursor.x
        was_dirty = y in self.dirty
        super().erase_in_line(how, private)
        if not was_dirty:
            self.dirty.discard(y)
            lo, hi = (x, self.columns) if how == 0 else (0, x + 1) if how == 1 else (0, self.columns)
            self._term._fill(y, lo, min(hi, self.columns), cell_value(self.cursor.attrs))

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        """pyte's cursor_position without its call chain (origin mode goes to pyte)."""
        if self.margins is not None and mo.DECOM in self.mode:
            super().cursor_position(line, column)
            return
        x = (column or 1) - 1
        y = (line or 1) - 1
        c = self.cursor
        c.x = 0 if x < 0 else (x if x < self.columns else self.columns - 1)
        c.y = 0 if y < 0 else (y if y < self.lines else self.lines - 1)

    def linefeed(self) -> None:
        """pyte's linefeed (index, then CR under LNM) without its call chain."""
        m = self.margins
        c = self.cursor
        bottom = m.bottom if m is not None else self.lines - 1
        if c.y == bottom:
            self.index()
        else:
            c.y = c.y + 1 if c.y + 1 < bottom else bottom  # pyte's cursor_down
        if mo.LNM in self.mode:
            c.x = 0

    def backspace(self) -> None:
        """pyte's backspace (cursor_back by one, ensure_hbounds)."""
        c = self.cursor
        x = c.x - 1 if c.x == self.columns else c.x
        x -= 1
        c.x = 0 if x < 0 else (x if x < self.columns - 1 else self.columns - 1)

    def index(self) -> None:
        top, bottom = self.margins or (0, self.lines - 1)
        if self.cursor.y != bottom:
            super().index()
            return
        self._nscroll += 1
        self._flush_rows(range(top, bottom + 1))
        before = self.dirty.copy()
        super().index()
        self.dirty = before
        self._term._scroll(top, bottom, 1, cell_value(self.default_char))

    def reverse_index(self) -> None:
        top, bottom = self.margins or (0, self.lines - 1)
        if self.cursor.y != top:
            super().reverse_index()
            return
        self._nscroll += 1
        self._flush_rows(range(top, bottom + 1))
        before = self.dirty.copy()
        super().reverse_index()
        self.dirty = before
        self._term._scroll(top, bottom, -1, cell_value(self.default_char))


class _FastStream(pyte.ByteStream):
    """pyte.ByteStream that dispatches the common complete sequences without its FSM.

    pyte's parser is a generator fed one character at a time (~1 us per byte of an
    escape sequence). In the ground state this stream recognises whole CSI sequences
    (``ESC [ [?] params final``), ``ESC 7/8/D/E/H/M/c`` and CR/LF/BS/HT with one regex
    and calls the very screen methods pyte's FSM would call with the same arguments
    (parameters capped at 9999, an empty parameter as 0, ``private=True`` after "?").
    Anything else, and every sequence split across feeds, goes through pyte's FSM.
    """

    # one token per match: plain text (exactly pyte's own text pattern) | CSI | ESC x | C0
    _tok = re.compile("(" + pyte.Stream._text_pattern.pattern + ")"
                      + r"|\x1b\[(\?)?([0-9;]*)([@A-Za-z])|\x1b([78DEHMc])|([\r\n\x08\t])")

    def attach(self, screen: pyte.Screen) -> None:
        super().attach(screen)
        self._csi_fast = {k: getattr(screen, v) for k, v in self.csi.items()}
        self._esc_fast = {k: getattr(screen, v) for k, v in self.escape.items()}
        self._basic_fast = {k: getattr(screen, v) for k, v in self.basic.items()}
        self._debug = screen.debug

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        text = self.utf8_decoder.decode(data) if self.use_utf8 else "".join(map(chr, data))
        draw = self.listener.draw
        tok = self._tok.match
        send = self._send_to_parser
        ground = self._taking_plain_text
        off, n = 0, len(text)
        while off < n:
            if ground:
                m = tok(text, off)
                if m is not None:
                    off = m.end()
                    kind = m.lastindex
                    if kind == 1:
                        draw(m.group(1))
                    elif kind == 6:
                        self._basic_fast[m.group(6)]()
                    elif kind == 4:
                        params = [min(int(p), 9999) if p else 0 for p in m.group(3).split(";")]
                        fn = self._csi_fast.get(m.group(4), self._debug)
                        if m.group(2):
                            fn(*params, private=True)
                        else:
                            fn(*params)
                    else:
                        self._esc_fast[m.group(5)]()
                    continue
            ground = send(text[off])
            off += 1
        self._taking_plain_text = ground


class Terminal:
    """A pyte screen fed through a byte stream, with incrementally refreshed planes.

    ``chars`` (R, C) uint32 code points, ``fg``/``bg`` (R, C) uint8 indices into
    :data:`PALETTE`, ``attrs`` (R, C) uint8 ``ATTR_*`` bits; ``cursor`` is
    ``(row, col, visible)``. All of them are as of the last :meth:`snapshot`.
    """

    def __init__(self, rows: int = 48, cols: int = 160) -> None:
        self.rows, self.cols = rows, cols
        self.chars = np.full((rows, cols), 32, np.uint32)  # (R, C)
        self.fg = np.zeros((rows, cols), np.uint8)  # (R, C)
        self.bg = np.ones((rows, cols), np.uint8)  # (R, C)
        self.attrs = np.zeros((rows, cols), np.uint8)  # (R, C)
        # flat views: a memoryview item store is ~3x cheaper than numpy's scalar setitem
        self._mv = tuple(memoryview(p.reshape(-1)) for p in (self.chars, self.fg, self.bg, self.attrs))
        self._chg: dict[int, list[int]] = {}
        self.screen = _TrackingScreen(self, cols, rows)
        self.stream = _FastStream(self.screen)
        self.cursor: tuple[int, int, bool] = (0, 0, True)
        # a fresh pyte screen is all default blanks, which is how the planes start:
        # report every row as changed for the first frame without reading pyte
        assert cell_value(self.screen.default_char) == (32, 0, 1, 0)
        self.screen.dirty.clear()
        for y in range(rows):
            self._changed(y, 0, cols)

    def feed(self, data: bytes) -> None:
        """Feed terminal output bytes to pyte."""
        self.stream.feed(data)

    def snapshot(self) -> list[tuple[int, int, int]]:
        """Bring the planes up to date; return the changed spans ``(row, col_start, col_stop)``."""
        s = self.screen
        if s.dirty:
            for y in s.dirty:
                if 0 <= y < self.rows:
                    self._read(y, 0, self.cols)
            s.dirty.clear()
        if s._pend:
            for y, (lo, hi) in s._pend.items():
                self._read(y, lo, hi)
            s._pend.clear()
        c = s.cursor
        self.cursor = (c.y, c.x if c.x < self.cols else self.cols - 1, not c.hidden)
        spans = [(y, lo, hi) for y, (lo, hi) in sorted(self._chg.items())]
        self._chg.clear()
        return spans

    # -- plane updates (called by the screen) -----------------------------------------
    def _changed(self, y: int, lo: int, hi: int) -> None:
        p = self._chg.get(y)
        if p is None:
            self._chg[y] = [lo, hi]
        else:
            if lo < p[0]:
                p[0] = lo
            if hi > p[1]:
                p[1] = hi

    def _read(self, y: int, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        line = self.screen.buffer.get(y)  # .get: reading must not create rows in pyte
        if line is None:
            self._fill(y, lo, hi, cell_value(self.screen.default_char))
            return
        if hi - lo <= 8:
            mc, mf, mb, ma = self._mv
            get = _CELL_CACHE.get
            base = y * self.cols
            for x in range(lo, hi):
                ch = line[x]
                v = get(ch) or cell_value(ch)
                i = base + x
                mc[i], mf[i], mb[i], ma[i] = v
        else:
            vals = [cell_value(line[x]) for x in range(lo, hi)]
            self.chars[y, lo:hi] = [v[0] for v in vals]
            self.fg[y, lo:hi] = [v[1] for v in vals]
            self.bg[y, lo:hi] = [v[2] for v in vals]
            self.attrs[y, lo:hi] = [v[3] for v in vals]
        self._changed(y, lo, hi)

    def _fill(self, y: int, lo: int, hi: int, v: tuple[int, int, int, int]) -> None:
        if hi <= lo:
            return
        if hi - lo <= 4:
            mc, mf, mb, ma = self._mv
            base = y * self.cols
            for i in range(base + lo, base + hi):
                mc[i], mf[i], mb[i], ma[i] = v
            self._changed(y, lo, hi)
            return
        self.chars[y, lo:hi] = v[0]
        self.fg[y, lo:hi] = v[1]
        self.bg[y, lo:hi] = v[2]
        self.attrs[y, lo:hi] = v[3]
        self._changed(y, lo, hi)

    def _shift_right(self, y: int, x: int, n: int, blank: tuple[int, int, int, int]) -> None:
        cols = self.cols
        n = min(n, cols - x)
        b = y * cols
        for mv in self._mv:
            mv[b + x + n:b + cols] = mv[b + x:b + cols - n]  # memoryview copies handle overlap
        self._fill(y, x, x + n, blank)
        self._changed(y, x, cols)

    def _shift_left(self, y: int, x: int, n: int) -> None:
        cols = self.cols
        n = min(n, cols - x)
        b = y * cols
        for mv in self._mv:
            mv[b + x:b + cols - n] = mv[b + x + n:b + cols]
        self._changed(y, x, cols)

    def _scroll(self, top: int, bottom: int, n: int, blank: tuple[int, int, int, int]) -> None:
        for plane in (self.chars, self.fg, self.bg, self.attrs):
            if n > 0:
                plane[top:bottom] = plane[top + 1:bottom + 1].copy()
            else:
                plane[top + 1:bottom + 1] = plane[top:bottom].copy()
        row = bottom if n > 0 else top
        self._fill(row, 0, self.cols, blank)
        for y in range(top, bottom + 1):
            self._changed(y, 0, self.cols)


def full_read(screen: pyte.Screen, rows: int, cols: int) -> tuple[np.ndarray, ...]:
    """Read a whole pyte screen into fresh planes (reference for tests and checks)."""
    chars = np.empty((rows, cols), np.uint32)
    fg = np.empty((rows, cols), np.uint8)
    bg = np.empty((rows, cols), np.uint8)
    attrs = np.empty((rows, cols), np.uint8)
    for y in range(rows):
        line = screen.buffer.get(y)
        for x in range(cols):
            v = cell_value(line[x] if line is not None else screen.default_char)
            chars[y, x], fg[y, x], bg[y, x], attrs[y, x] = v
    return chars, fg, bg, attrs
