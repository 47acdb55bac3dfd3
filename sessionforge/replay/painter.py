"""Escape-byte emission: a model of what the terminal shows and minimal updates to it.

:class:`Painter` keeps, for every screen row, the cells and styles it believes the
terminal displays (see :mod:`display` for the row representation) plus the
terminal's cursor position and current SGR pen. ``put_row`` compares a wanted row
with the model and emits only the cells that differ, optionally through ICH/DCH
when the caller knows the row's tail moved sideways; ``scroll`` moves a band of
rows with a scroll region and IND/RI (pyte's DL mishandles never-touched rows, its
IND/RI do not). Every cell written is a glyph produced by :mod:`display`, so
nothing but the escape sequences built here can reach the terminal as a control.
"""

from __future__ import annotations

from itertools import groupby

from .display import CONT, T_TEXT

# SGR for each style id; absolute (starts with 0) so the pen never depends on history.
SGR = ("\x1b[0m", "\x1b[0;35m", "\x1b[0;7m", "\x1b[0;90m", "\x1b[0;1m")

# Cells of text we rewrite rather than shift with ICH/DCH (pyte's ICH/DCH walk the whole
# row, so shifting pays off only for longer tails).
REWRITE_MAX = 10


def common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of two equal-length strings (binary search, C-speed compares)."""
    n = len(a)
    if a == b:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def common_suffix(a: str, b: str) -> int:
    """Length of the common suffix of two equal-length strings."""
    n = len(a)
    if a == b:
        return n
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if a[n - mid:n - lo] == b[n - mid:n - lo]:
            lo = mid
        else:
            hi = mid
    return lo


class Painter:
    """Screen model + byte emitter for a ``rows`` x ``cols`` terminal."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows = rows
        self.cols = cols
        self.blank_cells = " " * cols
        self.blank_styles = T_TEXT * cols
        self.cells = [self.blank_cells] * rows
        self.styles = [self.blank_styles] * rows
        self.out: list[str] = []
        self.cy: int | None = None  # terminal cursor row, None = unknown
        self.cx: int | None = None
        self.pen: str | None = None  # current style char, None = unknown

    # -- output primitives ---------------------------------------------------------
    def reset(self) -> None:
        """Start from a blank, freshly cleared terminal (emits the clear sequence)."""
        self.cells = [self.blank_cells] * self.rows
        self.styles = [self.blank_styles] * self.rows
        # autowrap off (writes at the last column never scroll), cursor visible,
        # no scroll region, default pen, clear screen, home
        self.out.append("\x1b[?7l\x1b[?25h\x1b[r\x1b[0m\x1b[2J\x1b[H")
        self.cy, self.cx, self.pen = 0, 0, T_TEXT

    def flush(self) -> bytes:
        """Return and forget everything emitted since the last flush."""
        data = "".join(self.out).encode("utf-8")
        self.out.clear()
        return data

    def _hmove(self, cx: int, c: int) -> str:
        """Shortest sequence moving the cursor from column cx to c on the same row."""
        if cx == c:
            return ""
        if c == 0:
            return "\r"
        d = c - cx
        if d == -1:
            return "\b"
        rel = (f"\x1b[{d}C" if d > 1 else "\x1b[C") if d > 0 else f"\x1b[{-d}D"
        cha = f"\x1b[{c + 1}G"
        return rel if len(rel) <= len(cha) else cha

    def goto(self, r: int, c: int) -> None:
        """Move the terminal cursor to (r, c) with the shortest sequence we know."""
        cy, cx = self.cy, self.cx
        if cy == r and cx is not None:
            if cx != c:
                self.out.append(self._hmove(cx, c))
                self.cx = c
            return
        seq = f"\x1b[{r + 1};{c + 1}H" if c else f"\x1b[{r + 1}H"
        if cx is not None and cy is not None:
            if r == cy + 1:
                # LF moves down one row keeping the column (never at the bottom margin:
                # no scroll region is left set and r exists)
                alt = "\n" + self._hmove(cx, c)
            elif c == cx:
                alt = f"\x1b[{r + 1}d"  # VPA: same column
            else:
                alt = seq
            if len(alt) < len(seq):
                seq = alt
        self.out.append(seq)
        self.cy, self.cx = r, c

    def _write(self, r: int, a: int, cells: str, styles: str) -> None:
        """Write cells[a:b] / styles[a:b] (already cut) starting at column a of row r."""
        self.goto(r, a)
        out = self.out
        s0 = styles[0]
        if styles.count(s0) == len(styles):
            if self.pen != s0:
                out.append(SGR[ord(s0)])
                self.pen = s0
            out.append(cells.replace(CONT, "") if CONT in cells else cells)
        else:
            i = 0
            for s, run in groupby(styles):
                n = sum(1 for _ in run)
                if self.pen != s:
                    out.append(SGR[ord(s)])
                    self.pen = s
                chunk = cells[i:i + n]
                out.append(chunk.replace(CONT, "") if CONT in chunk else chunk)
                i += n
        x = a + len(cells)
        # at the right edge pyte's cursor sits in a "pending wrap" column: forget it
        self.cx = x if x < self.cols else None

    def _span(self, oc: str, os_: str, nc: str, ns: str) -> tuple[int, int]:
        """Differing cell range [a, b) between two rows, widened to whole glyphs."""
        a = common_prefix(oc, nc)
        e = common_suffix(oc, nc)
        if os_ != ns:
            a = min(a, common_prefix(os_, ns))
            e = min(e, common_suffix(os_, ns))
        b = self.cols - e
        # never start or stop inside a wide glyph, in the old row or the new one
        while a > 0 and (nc[a] == CONT or oc[a] == CONT):
            a -= 1
        while b < self.cols and (nc[b] == CONT or oc[b] == CONT):
            b += 1
        return a, b

    # -- row updates -------------------------------------------------------------------
    def put_row(self, r: int, nc: str, ns: str, shift: int = 0, at: int = -1) -> None:
        """Make row ``r`` show ``nc``/``ns`` (each exactly ``cols`` long).

        ``shift`` hints that the row's tail moved right (> 0 cells inserted) or left
        (< 0 cells deleted); ``at``, when known, is the cell where that happened. The
        hints only choose the bytes: the result is checked against the model, and a
        wrong hint falls back to the general diff.
        """
        oc, os_ = self.cells[r], self.styles[r]
        if oc == nc and os_ == ns:
            return
        if at >= 0 and shift and self._put_shifted(r, oc, os_, nc, ns, shift, at):
            self.cells[r], self.styles[r] = nc, ns
            return
        if oc is self.blank_cells and os_ is self.blank_styles:
            # a row that just scrolled in (or a cleared screen): write up to its last
            # non-blank cell, no diff needed
            b = len(nc.rstrip(" "))
            if ns[b:] != self.blank_styles[b:]:
                b = self.cols - common_suffix(os_, ns)
            if b:
                self._write(r, 0, nc[:b], ns[:b])
            self.cells[r], self.styles[r] = nc, ns
            return
        a, b = self._span(oc, os_, nc, ns)
        if shift and b - a > REWRITE_MAX:
            cols = self.cols
            k = abs(shift)
            sc = ""
            if shift > 0 and a + k < cols and self._blank_tail(oc, os_, k):
                sc = oc[:a] + " " * k + oc[a:cols - k]
                ss = os_[:a] + T_TEXT * k + os_[a:cols - k]
                seq = f"\x1b[{k}@" if k > 1 else "\x1b[@"
            elif shift < 0 and a + k < cols:
                sc = oc[:a] + oc[a + k:] + " " * k
                ss = os_[:a] + os_[a + k:] + T_TEXT * k
                seq = f"\x1b[{k}P" if k > 1 else "\x1b[P"
            if sc and sc[a] != CONT:
                a2, b2 = (a, a) if sc == nc and ss == ns else self._span(sc, ss, nc, ns)
                if REWRITE_MAX + (b2 - a2) < b - a:
                    self.goto(r, a)
                    self.out.append(seq)
                    if b2 > a2:
                        self._write(r, a2, nc[a2:b2], ns[a2:b2])
                    self.cells[r], self.styles[r] = nc, ns
                    return
        self._write_erasing(r, a, b, nc, ns)
        self.cells[r], self.styles[r] = nc, ns

    def _write_erasing(self, r: int, a: int, b: int, nc: str, ns: str) -> None:
        """Write nc[a:b]; a run of blanks reaching the end of the row becomes EL."""
        j = len(nc.rstrip(" "))
        if b - j > 3 and ns[j:] == self.blank_styles[j:]:
            if j > a:
                self._write(r, a, nc[a:j], ns[a:j])
            else:
                self.goto(r, a)
                j = a
            if self.pen != T_TEXT:
                self.out.append(SGR[0])  # EL fills with the pen: make it the default
                self.pen = T_TEXT
            self.out.append("\x1b[K")
            return
        self._write(r, a, nc[a:b], ns[a:b])

    def patch(self, r: int, a: int, cells: str, styles: str) -> None:
        """Write ``cells`` at column ``a`` of row ``r`` (whole glyphs) and update the model."""
        b = a + len(cells)
        self._write(r, a, cells, styles)
        row = self.cells[r]
        self.cells[r] = row[:a] + cells + row[b:]
        st = self.styles[r]
        self.styles[r] = st[:a] + styles + st[b:]

    def _blank_tail(self, oc: str, os_: str, k: int) -> bool:
        """True when the last k cells are default blanks.

        pyte's ICH keeps the first cell pushed past the right edge in a hidden column
        and a later DCH pulls it back in; shifting only blank cells out keeps that
        hidden cell a blank the model can ignore.
        """
        cols = self.cols
        return oc[cols - k:] == " " * k and os_[cols - k:] == T_TEXT * k

    def _put_shifted(self, r: int, oc: str, os_: str, nc: str, ns: str, shift: int, at: int) -> bool:
        """Fast path for one glyph inserted/deleted at cell ``at``: O(1) string compares."""
        cols = self.cols
        if oc[:at] != nc[:at] or os_[:at] != ns[:at]:
            return False
        if shift > 0:
            k = shift
            e = cols - k
            if nc[at + k:] != oc[at:e] or ns[at + k:] != os_[at:e] or not self._blank_tail(oc, os_, k):
                return False
            t = len(oc[at:e].rstrip(" "))  # text after the insertion point that moves right
            if t <= REWRITE_MAX:
                self._write(r, at, nc[at:at + k + t], ns[at:at + k + t])
            else:
                self.goto(r, at)
                self.out.append(f"\x1b[{k}@" if k > 1 else "\x1b[@")
                self._write(r, at, nc[at:at + k], ns[at:at + k])
            return True
        k = -shift
        e = cols - k
        if nc[at:e] != oc[at + k:] or ns[at:e] != os_[at + k:] or nc[e:] != " " * k or ns[e:] != T_TEXT * k:
            return False
        t = len(oc[at + k:].rstrip(" "))  # text after the deleted glyph that moves left
        if t > REWRITE_MAX:
            self.goto(r, at)
            self.out.append(f"\x1b[{k}P" if k > 1 else "\x1b[P")
            return True
        if t:
            self._write(r, at, nc[at:at + t], ns[at:at + t])
        else:
            self.goto(r, at)
        # erase the k cells the text moved out of (ECH: the cursor does not move)
        if self.pen != T_TEXT:
            self.out.append(SGR[0])
            self.pen = T_TEXT
        self.out.append(f"\x1b[{k}X" if k > 1 else "\x1b[X")
        return True

    def scroll(self, top: int, bottom: int, n: int) -> None:
        """Move rows ``top..bottom`` (inclusive) up by ``n`` (down if negative); blanks enter.

        Uses a scroll region and IND (LF at the bottom margin) / RI (ESC M at the top).
        """
        if n == 0:
            return
        out = self.out
        # the rows entering are pyte's default blank whatever the pen: no SGR needed
        out.append(f"\x1b[{top + 1};{bottom + 1}r")
        if n > 0:
            out.append(f"\x1b[{bottom + 1}H" + "\n" * n)
            cy = bottom
        else:
            out.append(f"\x1b[{top + 1}H" + "\x1bM" * -n)
            cy = top
        out.append("\x1b[r")
        self.cy, self.cx = cy, 0
        k = abs(n)
        band_c = self.cells[top:bottom + 1]
        band_s = self.styles[top:bottom + 1]
        blank_c = [self.blank_cells] * min(k, len(band_c))
        blank_s = [self.blank_styles] * min(k, len(band_c))
        if n > 0:
            band_c = band_c[k:] + blank_c
            band_s = band_s[k:] + blank_s
        else:
            band_c = blank_c + band_c[:len(band_c) - k]
            band_s = blank_s + band_s[:len(band_s) - k]
        self.cells[top:bottom + 1] = band_c
        self.styles[top:bottom + 1] = band_s
