"""Fast paths for the most frequent keys of a replay (a mixin of :class:`editor.Editor`).

Replays are mostly typing, arrows and Backspace/Delete on short plain lines. When
nothing else is pending (the Painter's model shows exactly the current state), these
keys change one known cell range, so their bytes and the model update are computed
directly instead of re-rendering and diffing rows. Each applies only under conditions
that make it produce the same screen as the general path (the rendering tests compare
every step with a from-scratch redraw); otherwise it returns False and the general
path runs.
"""

from __future__ import annotations

from .display import T_TEXT, is_plain
from .painter import REWRITE_MAX as _REWRITE_MAX
from .painter import SGR
from .viewport import TEXT0, EditorView

FAST_MOVES = frozenset((b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F"))


class FastKeys(EditorView):
    """Typing, Backspace/Delete and cursor moves without re-rendering rows."""

    _verbatim: bool
    _want: int

    def _quiet(self) -> bool:
        """Nothing pending: the model shows exactly the current state (after a refresh)."""
        return (self.prompt is None and not self._verbatim and not self._hoff
                and self._status_vals is not None
                and self._p.cells[self.rows - 2] is self._status_cells)

    def _fast_type(self, ch: str) -> bool:
        """Insert one printable ASCII char: the same screen and model as the general path.

        Applies only when the line is plain ASCII, stays clear of the horizontal-scroll
        margin, and nothing else is pending, so the row is ``gutter + line + blanks``
        in one style and the change is exactly one cell inserted at the cursor.
        """
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        n = len(line)
        if n + 2 >= self._width or not self.modified or not is_plain(line):
            return False  # (the first edit also shows "Modified" in the title bar)
        p = self._p
        r = TEXT0 + cl - self.top_line
        at = self._gw + cc
        self.lines[cl] = line[:cc] + ch + line[cc:]
        self.cursor_col = self._want = cc + 1
        old = self._status_vals
        o, v = old[2], str(cc + 2)
        if len(o) == len(v) and self.cols >= 40:
            # the column went up by one: its changed digits are a suffix of the field
            i = 0
            while o[i] == v[i]:
                i += 1
            srow = self.rows - 2
            col = self._STATUS_AT[2] + i
            seg = v[i:]
            p.goto(srow, col)
            if p.pen != T_TEXT:
                p.out.append(SGR[0])
                p.pen = T_TEXT
            p.out.append(seg)
            p.cx = col + len(seg)
            cells = p.cells[srow]
            p.cells[srow] = self._status_cells = cells[:col] + seg + cells[col + len(seg):]
            self._status_vals = (old[0], old[1], v)
        else:
            self._patch_status(old, (old[0], old[1], v))
        t = n - cc
        if t == 0:
            p.goto(r, at)
            if p.pen != T_TEXT:
                p.out.append(SGR[0])
                p.pen = T_TEXT
            p.out.append(ch)
            p.cx = at + 1
        else:
            if t <= _REWRITE_MAX:
                p._write(r, at, ch + line[cc:], T_TEXT * (t + 1))
            else:
                p.goto(r, at)
                p.out.append("\x1b[@")
                p._write(r, at, ch, T_TEXT)
            p.goto(r, at + 1)
        row = p.cells[r]
        p.cells[r] = row[:at] + ch + row[at:-1]
        return True

    def _fast_delete(self, backspace: bool) -> bool:
        """Backspace/Delete of one char inside a short plain ASCII line."""
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        n = len(line)
        k = cc - 1 if backspace else cc  # index of the char that goes
        if k < 0 or k >= n or n + 2 >= self._width or not self.modified or not is_plain(line):
            return False
        p = self._p
        r = TEXT0 + cl - self.top_line
        at = self._gw + k
        self.lines[cl] = line[:k] + line[k + 1:]
        self.cursor_col = self._want = k
        if backspace:
            old = self._status_vals
            self._patch_status(old, (old[0], old[1], str(k + 1)))
        t = n - k - 1  # chars after the deleted one, which move left
        if t > _REWRITE_MAX:
            p.goto(r, at)
            p.out.append("\x1b[P")
        else:
            if t:
                p._write(r, at, line[k + 1:], T_TEXT * t)
            else:
                p.goto(r, at)
            if p.pen != T_TEXT:
                p.out.append(SGR[0])
                p.pen = T_TEXT
            p.out.append("\x1b[X")  # blank the freed last cell; the cursor stays
            p.goto(r, at)
        row = p.cells[r]
        p.cells[r] = row[:at] + row[at + 1:] + " "
        return True

    def _fast_move(self, key: bytes) -> bool:
        """Arrow/Home/End that stays on screen between plain lines clear of the scroll
        margin: only the status digits and the cursor change."""
        cl, cc = self.cursor_line, self.cursor_col
        lines = self.lines
        if key == b"\x1b[A" or key == b"\x1b[B":
            nl = cl - 1 if key == b"\x1b[A" else cl + 1
            if not (self.top_line <= nl < self.top_line + self.text_rows and nl < len(lines)):
                return False
            line = lines[nl]
            nc, want = min(self._want, len(line)), self._want
        else:
            nl, line = cl, lines[cl]
            if key == b"\x1b[C":
                if cc >= len(line):
                    return False
                nc = cc + 1
            elif key == b"\x1b[D":
                if cc == 0:
                    return False
                nc = cc - 1
            else:
                nc = 0 if key == b"\x1b[H" else len(line)
            want = nc
        if nc + 1 >= self._width or not is_plain(line):
            return False
        self.cursor_line, self.cursor_col, self._want = nl, nc, want
        old = self._status_vals
        self._patch_status(old, (str(nl + 1) if nl != cl else old[0], old[1], str(nc + 1)))
        self._hline = nl
        self._p.goto(TEXT0 + nl - self.top_line, self._gw + nc)
        return True
