"""pyte Screen and ByteStream subclasses behind :class:`terminal.Terminal`.

``_TrackingScreen`` records where every operation changed cells and mirrors the
changes into its owner's planes (see the ``terminal`` module docstring); the owner
is anything shaped like :class:`PlaneMirror`, so this module does not import
``terminal`` (``terminal`` imports this one).
``_FastStream`` and the screen's fast paths (ASCII ``draw``, ICH/DCH, CUP, LF, BS)
compute exactly what stock pyte 0.8.2 computes, with fewer Python calls; the tests
feed random byte streams to both and compare the resulting screens.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from itertools import repeat
from typing import Any, Protocol

import pyte
from pyte import charsets as cs
from pyte import modes as mo

from .palette import cell_value

# The speed-ups re-implement pyte 0.8.2 internals; any other pyte version gets stock
# pyte behaviour (the change tracking itself only relies on documented effects).
PYTE_FAST = version("pyte") == "0.8.2"


Cell = tuple[int, int, int, int]  # (code point, fg, bg, attrs) plane values of one cell


class PlaneMirror(Protocol):
    """The frame planes a :class:`_TrackingScreen` keeps equal to pyte's screen.

    :class:`terminal.Terminal` implements it. ``_mv`` are flat memoryviews of the
    chars, fg, bg and attrs planes (row-major, ``columns`` cells a row) for single-cell
    stores; the methods read pyte cells into the planes, fill, shift or scroll them,
    and record the changed span.
    """

    _mv: tuple[memoryview, memoryview, memoryview, memoryview]

    def _changed(self, y: int, lo: int, hi: int) -> None: ...

    def _read(self, y: int, lo: int, hi: int) -> None: ...

    def _fill(self, y: int, lo: int, hi: int, v: Cell) -> None: ...

    def _shift_right(self, y: int, x: int, n: int, blank: Cell) -> None: ...

    def _shift_left(self, y: int, x: int, n: int) -> None: ...

    def _scroll(self, top: int, bottom: int, n: int, blank: Cell) -> None: ...


class _PenCache(dict):
    """char -> pyte Char drawn with one pen (pyte's ``attrs._replace(data=char)``, cached)."""

    def __init__(self, attrs: Any) -> None:
        super().__init__()
        self.attrs = attrs
        self.values: dict[str, Cell] = {}  # char -> plane values

    def __missing__(self, ch: str) -> Any:
        v = self[ch] = self.attrs._replace(data=ch)
        self.values[ch] = cell_value(v)
        return v


class _TrackingScreen(pyte.Screen):
    """pyte.Screen that mirrors cell changes into its owner's planes (a :class:`PlaneMirror`)."""

    def __init__(self, term: PlaneMirror, columns: int, lines: int) -> None:
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
        if (PYTE_FAST and x0 + n <= self.columns and data.isascii() and data.isprintable()
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
        moved = list(map(line.get, range(x, cols - n + 1), repeat(line.default)))
        pop = line.pop
        for k in range(x, min(x + n, cols + 1)):  # keys from x + n on are all overwritten
            pop(k, None)
        line.update(zip(range(x + n, cols + 1), moved))

    def _dch(self, count: int | None) -> None:
        """pyte's delete_characters, same resulting cells, without its per-column loop."""
        self.dirty.add(self.cursor.y)
        n = count or 1
        line = self.buffer[self.cursor.y]
        x, cols = self.cursor.x, self.columns
        pop = line.pop
        # pyte moves key k + n to k for k in [x, cols - n] (a missing key as the screen's
        # default char) and drops the keys left over below ``cols``
        vals = list(map(pop, range(x + n, cols + 1), repeat(self.default_char)))
        m = len(vals)
        for k in range(x + m, min(x + n, cols)):
            pop(k, None)
        line.update(zip(range(x, x + m), vals))

    def insert_characters(self, count: int | None = None) -> None:
        y, x = self.cursor.y, self.cursor.x
        ich = self._ich if PYTE_FAST else super().insert_characters
        if y in self.dirty or x >= self.columns:
            ich(count)
            return
        self._flush_rows(range(y, y + 1))
        ich(count)
        self.dirty.discard(y)
        self._term._shift_right(y, x, count or 1, cell_value(self.buffer[y].default))

    def delete_characters(self, count: int | None = None) -> None:
        y, x = self.cursor.y, self.cursor.x
        line = self.buffer.get(y)
        dch = self._dch if PYTE_FAST else super().delete_characters
        if y in self.dirty or x >= self.columns or line is None or line.default != self.default_char:
            dch(count)
            return
        self._flush_rows(range(y, y + 1))
        dch(count)
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
        if not PYTE_FAST or self.margins is not None and mo.DECOM in self.mode:
            super().cursor_position(line, column)
            return
        x = (column or 1) - 1
        y = (line or 1) - 1
        c = self.cursor
        c.x = 0 if x < 0 else (x if x < self.columns else self.columns - 1)
        c.y = 0 if y < 0 else (y if y < self.lines else self.lines - 1)

    def linefeed(self) -> None:
        """pyte's linefeed (index, then CR under LNM) without its call chain."""
        if not PYTE_FAST:
            super().linefeed()
            return
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
        if not PYTE_FAST:
            super().backspace()
            return
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
                      + r"|\x1b\[(\?)?([0-9;]*)([@A-Za-z])|\x1b([78DEHMc])|([\r\n\x08\t]+)")

    def attach(self, screen: pyte.Screen) -> None:
        super().attach(screen)
        self._csi_fast = {k: getattr(screen, v) for k, v in self.csi.items()}
        self._esc_fast = {k: getattr(screen, v) for k, v in self.escape.items()}
        self._basic_fast = {k: getattr(screen, v) for k, v in self.basic.items()}
        self._debug = screen.debug
        self._csi_cache: dict[str, tuple[Any, tuple[int, ...], bool]] = {}

    def _parse_csi(self, m: re.Match, cache: dict) -> tuple[Any, tuple[int, ...], bool]:
        """(method, params, private) exactly as pyte's FSM builds them for this CSI."""
        params = tuple(min(int(p), 9999) if p else 0 for p in m.group(3).split(";"))
        hit = (self._csi_fast.get(m.group(4), self._debug), params, bool(m.group(2)))
        if len(cache) > 4096:
            cache.clear()
        cache[m.group(0)] = hit
        return hit

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        text = self.utf8_decoder.decode(data) if self.use_utf8 else "".join(map(chr, data))
        draw = self.listener.draw
        tok = self._tok.match
        csi_cache = self._csi_cache
        basic = self._basic_fast
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
                        for ch in m.group(6):  # a run of CR/LF/BS/HT (e.g. "\n\b" between rows)
                            basic[ch]()
                    elif kind == 4:
                        # an editor repeats a few sequences (status and cursor moves): cache
                        # each one's parse
                        seq = m.group(0)
                        hit = csi_cache.get(seq)
                        if hit is None:
                            hit = self._parse_csi(m, csi_cache)
                        fn, params, private = hit
                        if private:
                            fn(*params, private=True)
                        else:
                            fn(*params)
                    else:
                        self._esc_fast[m.group(5)]()
                    continue
            ground = send(text[off])
            off += 1
        self._taking_plain_text = ground
