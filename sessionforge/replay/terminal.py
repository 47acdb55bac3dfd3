"""A pyte terminal whose screen is mirrored into numpy frame planes, reading only changes.

:class:`Terminal` feeds bytes through ``pyte.ByteStream`` into a ``pyte.Screen``
subclass that records *where* each operation changed cells:

* ``draw`` records the column span it wrote; those cells are read back from pyte at
  snapshot time (reading a pyte cell costs ~0.2 us, a whole 160-column row ~35 us),
  except a single ASCII character, whose cell is known and written into the planes
  right away;
* erase-in-line / erase-characters fill the planes directly with the cursor's pen;
* ICH/DCH and scrolling (IND/RI at a margin) shift the planes the way pyte shifts its
  rows, after first reading any pending cells of the rows involved;
* every other operation (ED, IL, DL, DECALN, reset, mode changes, ...) is left to
  pyte's own ``dirty`` row set and its rows are read in full.

The planes therefore always equal a full read of pyte's screen after ``snapshot()``;
the tests check this against random byte feeds. Deviations from stock pyte, all for
input the editor never sends: DECCOLM (80/132 column switching) is ignored because
frames have a fixed size, and erase sequences with an unknown mode (``CSI 3 K``,
``CSI 4 J``), which make pyte raise, are ignored as a terminal would. The screen and
stream subclasses live in :mod:`tracking`; they also carry speed-ups that compute
exactly what stock pyte computes (checked against stock pyte by the tests).
"""

from __future__ import annotations

from itertools import repeat

import numpy as np
import pyte

from .palette import _CELL_CACHE, PALETTE, cell_value
from . import tracking
from .tracking import _FastStream, _TrackingScreen

__all__ = ["PALETTE", "Terminal", "cell_value", "full_read"]


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
        self.stream = (_FastStream if tracking.PYTE_FAST else pyte.ByteStream)(self.screen)
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
            # line.get with the line's default reads a missing cell as pyte does, without
            # a Python-level __missing__ call per blank cell
            get = _CELL_CACHE.get
            cells = map(line.get, range(lo, hi), repeat(line.default))
            vals = np.array([get(c) or cell_value(c) for c in cells], np.uint32)  # (n, 4)
            self.chars[y, lo:hi] = vals[:, 0]
            self.fg[y, lo:hi] = vals[:, 1]
            self.bg[y, lo:hi] = vals[:, 2]
            self.attrs[y, lo:hi] = vals[:, 3]
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
