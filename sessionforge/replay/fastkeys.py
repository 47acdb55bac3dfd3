"""How bytes become keys, and fast paths for the most frequent keys (mixins and
helpers of :class:`editor.Editor`).

:func:`next_key` reads one key from any byte string (KEYMAP.md, "Any bytes"): a
keymap key, a character, or something that is no key of the keymap (an unknown
escape sequence, a control character without a meaning here, an invalid UTF-8 byte),
which the editor ignores. It never fails, whatever the bytes.

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


def next_char(data: bytes, i: int) -> tuple[str | None, int]:
    """The character encoded at ``data[i:]`` and where the next byte to read is.

    A byte that does not start a valid UTF-8 encoding of one code point (a stray
    continuation byte, a truncated or overlong sequence, an encoded surrogate, 0xF5 or
    above) is no character: ``(None, i + 1)``, so reading resumes at the next byte.
    """
    b = data[i]
    if b < 0x80:
        return chr(b), i + 1
    n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
    if n:
        try:
            return data[i:i + n].decode("utf-8"), i + n
        except UnicodeDecodeError:
            pass
    return None, i + 1


def next_key(data: bytes, i: int) -> tuple[bytes | None, int]:
    """The key at ``data[i:]`` (``data[i:j]``) and ``j``, where the next key starts; the
    key is None for bytes that are no key at all (they are dropped).

    * ESC ``[`` starts a CSI sequence: bytes 0x20-0x3F, then a final byte 0x40-0x7E.
      Any other byte (or the end of ``data``) before the final one drops the bytes read
      so far, and reading resumes at that byte.
    * ESC ``O`` + a byte 0x40-0x7E is an SS3 key (what some terminals send for arrows
      and F1-F4).
    * ESC + ESC: the first is a lone ESC (dropped); the second starts the next key.
    * ESC + a character: that character with Alt (Alt-v is ``ESC v``).
    * ESC at the end of ``data``, or before a byte that is no character: dropped.
    * otherwise one character (:func:`next_char`).
    """
    b = data[i]
    if b != 0x1B:
        ch, j = next_char(data, i)
        return (data[i:j] if ch is not None else None), j
    n = len(data)
    if i + 1 >= n or data[i + 1] == 0x1B:
        return None, i + 1
    c = data[i + 1]
    if c == 0x5B:  # "["
        j = i + 2
        while j < n and 0x20 <= data[j] <= 0x3F:
            j += 1
        if j < n and 0x40 <= data[j] <= 0x7E:
            return data[i:j + 1], j + 1
        return None, j
    if c == 0x4F and i + 2 < n and 0x40 <= data[i + 2] <= 0x7E:  # "O"
        return data[i:i + 3], i + 3
    ch, j = next_char(data, i + 1)
    return (data[i:j], j) if ch is not None else (None, i + 1)


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
