"""A modeless, nano-like editor simulated in Python that draws itself with VT100 bytes.

Pure Python (no pyte, no git). The buffer is one exact ``str`` kept as a list of
logical lines split on "\\n" only; every key (``press``) changes it exactly as
``replay/KEYMAP.md`` says and returns the escape bytes that bring the terminal from
the previous screen to the new one. Screen layout (rows x cols):

* row 0: title bar (reverse video): editor name, file name, "Modified";
* rows 1 .. rows-3: text area, ``text_rows`` buffer lines with a line-number gutter;
* row rows-2: status line ("line N of M  col C") or the active prompt;
* row rows-1: help line.

Lines longer than the text area scroll horizontally, nano-like, on the cursor line
only (see :func:`display.window`); other lines show their start and a ">" marker.
"""

from __future__ import annotations

from ..errors import SessionforgeError
from .display import (
    T_GUTTER, T_LABEL, T_MARK, T_TEXT, TAB_SIZE, CONT, glyph, is_plain, layout,
    scroll_offset, text_cells, window,
)
from .render import _SHIFT_COST as _REWRITE_MAX
from .render import SGR, Painter

EDITOR_VERSION = "sfedit-1"
SGR_GUTTER = SGR[ord(T_GUTTER)]
_FAST_MOVES = frozenset((b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F"))
TEXT0 = 1  # screen row of the first text row

HELP = (("^G", "Go to line"), ("^O", "Open"), ("^S", "Save"), ("^K", "Cut line"),
        ("^C", "Cancel"), ("M-V", "Verbatim"), ("M-R", "Rename"), ("M-D", "Delete file"))
PROMPT_LABELS = {"goto": "Go to line: ", "open": "Open file: ", "rename": "Rename to: "}


class EditorError(SessionforgeError, ValueError):
    """A key the editor does not understand (not in KEYMAP.md), or not one key."""


class Editor:
    """The simulated editor. See the module docstring and ``replay/KEYMAP.md``."""

    def __init__(self, rows: int = 48, cols: int = 160, disk: dict[str, str] | None = None) -> None:
        if rows < 4 or cols < 24:
            raise EditorError(f"screen {rows}x{cols} is too small (need at least 4 rows and 24 columns)")
        self.rows, self.cols = rows, cols
        self.disk: dict[str, str] = disk if disk is not None else {}
        self.path: str | None = None
        self.lines: list[str] = [""]
        self.cursor_line = 0
        self.cursor_col = 0
        self._want = 0  # remembered column for up/down/PgUp/PgDn
        self.top_line = 0
        self.text_rows = rows - 3
        self.prompt: str | None = None
        self._input = ""
        self._verbatim = False
        self.modified = False
        self._p = Painter(rows, cols)
        self._gw = 0
        self._set_gutter()
        self._hoff = 0  # horizontal scroll of the cursor line as last drawn
        self._hline = 0  # the line _hoff belongs to
        self._dirty: set[int] = set()  # text rows to re-render
        self._all = True  # re-render every text row
        self._shift: tuple[int, int, int] | None = None  # (text row, cells, cell x) ICH/DCH hint
        self._renumber: set[int] = set()  # text rows whose text is right but gutter number is stale
        self._title_key: tuple | None = None
        self._status_vals: tuple[str, str, str] | None = None
        self._keys = {
            b"\r": self._enter, b"\t": self._tab, b"\x7f": self._backspace, b"\x1b[3~": self._delete,
            b"\x1b[A": self._up, b"\x1b[B": self._down, b"\x1b[C": self._right, b"\x1b[D": self._left,
            b"\x1b[H": self._home, b"\x1b[F": self._end, b"\x1b[5~": self._pgup, b"\x1b[6~": self._pgdn,
            b"\x07": self._goto_prompt, b"\x03": self._noop, b"\x0f": self._open_prompt,
            b"\x13": self._save, b"\x0b": self._cut, b"\x1bv": self._verbatim_key,
            b"\x1br": self._rename_prompt, b"\x1bd": self._delete_file,
        }

    # -- read-only views -------------------------------------------------------------
    @property
    def text(self) -> str:
        """The exact buffer."""
        return "\n".join(self.lines)

    @property
    def line_count(self) -> int:
        """Number of logical lines (a buffer ending in "\\n" has an empty last line)."""
        return len(self.lines)

    # -- public API ---------------------------------------------------------------------
    def press(self, key: bytes) -> bytes:
        """Apply one key (as a terminal sends it); return the bytes that update the screen."""
        if self._quiet():
            if len(key) == 1 and 32 <= key[0] < 127:
                if self._fast_type(chr(key[0])):
                    return self._p.flush()
            elif key in _FAST_MOVES and self._fast_move(key):
                return self._p.flush()
            elif (key == b"\x7f" or key == b"\x1b[3~") and self._fast_delete(key == b"\x7f"):
                return self._p.flush()
        if self._verbatim:
            self._verbatim = False
            self._type(self._one_char(key, verbatim=True))
        elif key.startswith(b"\x1bv") and len(key) > 2:
            self._type(self._one_char(key[2:], verbatim=True))  # Alt-V and its char in one call
        elif self.prompt is not None:
            self._prompt_key(key)
        else:
            handler = self._keys.get(key)
            if handler is not None:
                handler()
            else:
                self._type(self._one_char(key, verbatim=False))
        self._refresh()
        return self._p.flush()

    def redraw(self) -> bytes:
        """Full repaint from a blank screen (the first frame of a session)."""
        self._p.reset()
        self._all = True
        self._refresh(bars=True)
        return self._p.flush()

    # -- key decoding -------------------------------------------------------------------
    @staticmethod
    def _one_char(key: bytes, verbatim: bool) -> str:
        try:
            s = key.decode("utf-8")
        except UnicodeDecodeError as e:
            raise EditorError(f"key {key!r} is not valid UTF-8: {e.reason}") from None
        if len(s) != 1:
            raise EditorError(f"key {key!r} is not one key of the keymap")
        if not verbatim and (s < " " or s == "\x7f"):
            raise EditorError(f"control key {key!r} is not in the keymap (type it with Alt-V)")
        return s

    def _type(self, ch: str) -> None:
        if self.prompt is not None:
            if self.prompt != "goto" or ch.isdigit() and ch.isascii():
                self._input += ch
            return
        self._insert(ch)

    # -- fast path for the most common key: typing ASCII into a short ASCII line -------
    def _quiet(self) -> bool:
        """Nothing pending: the model shows exactly the current state (after a refresh)."""
        return (self.prompt is None and not self._verbatim and not self._hoff
                and self._status_vals is not None
                and self._p.cells[self.rows - 2] is self._status_cells)

    def _fast_type(self, ch: str) -> bool:
        """Insert one printable ASCII char; the same bytes and model as the general path.

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
        vals = (old[0], old[1], str(cc + 2))
        self._patch_status(old, vals)
        t = n - cc
        if t == 0:
            p._write(r, at, ch, T_TEXT)
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

    # -- text edits -------------------------------------------------------------------
    def _touch(self) -> None:
        self._want = self.cursor_col
        self.modified = True

    def _insert(self, ch: str) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        x = self._cell_x(line, cc)
        w = TAB_SIZE - x % TAB_SIZE if ch == "\t" else len(glyph(ch)[0])
        self.lines[cl] = line[:cc] + ch + line[cc:]
        self.cursor_col = cc + 1
        self._touch()
        self._row_changed(cl, w, x)

    def _enter(self) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        self.lines[cl:cl + 1] = [line[:cc], line[cc:]]
        self.cursor_line, self.cursor_col = cl + 1, 0
        self._touch()
        self._row_changed(cl, 0)
        self._line_inserted(cl + 1)

    def _tab(self) -> None:
        self._insert("\t")

    def _backspace(self) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        if cc > 0:
            x = self._cell_x(line, cc - 1)
            w = self._cell_x(line, cc) - x
            self.lines[cl] = line[:cc - 1] + line[cc:]
            self.cursor_col = cc - 1
            self._touch()
            self._row_changed(cl, -w, x)
        elif cl > 0:
            prev = self.lines[cl - 1]
            self.lines[cl - 1:cl + 1] = [prev + line]
            self.cursor_line, self.cursor_col = cl - 1, len(prev)
            self._touch()
            self._row_changed(cl - 1, 0)
            self._line_removed(cl)
        self._want = self.cursor_col

    def _delete(self) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        if cc < len(line):
            x = self._cell_x(line, cc)
            w = self._cell_x(line, cc + 1) - x
            self.lines[cl] = line[:cc] + line[cc + 1:]
            self._touch()
            self._row_changed(cl, -w, x)
        elif cl + 1 < len(self.lines):
            self.lines[cl:cl + 2] = [line + self.lines[cl + 1]]
            self._touch()
            self._row_changed(cl, 0)
            self._line_removed(cl + 1)
        self._want = self.cursor_col

    def _cut(self) -> None:
        cl = self.cursor_line
        self.cursor_col = 0
        if cl + 1 < len(self.lines):
            del self.lines[cl]
            self._touch()
            self._row_changed(cl, 0)
            self._line_removed(cl)
        elif self.lines[cl]:
            self.lines[cl] = ""
            self._touch()
            self._row_changed(cl, 0)
        else:
            self._want = 0

    # -- movement -----------------------------------------------------------------------
    def _noop(self) -> None:
        pass

    def _up(self) -> None:
        if self.cursor_line > 0:
            self._vmove(self.cursor_line - 1)

    def _down(self) -> None:
        if self.cursor_line + 1 < len(self.lines):
            self._vmove(self.cursor_line + 1)

    def _vmove(self, line: int) -> None:
        self.cursor_line = line
        self.cursor_col = min(self._want, len(self.lines[line]))

    def _left(self) -> None:
        if self.cursor_col > 0:
            self.cursor_col -= 1
        elif self.cursor_line > 0:
            self.cursor_line -= 1
            self.cursor_col = len(self.lines[self.cursor_line])
        self._want = self.cursor_col

    def _right(self) -> None:
        if self.cursor_col < len(self.lines[self.cursor_line]):
            self.cursor_col += 1
        elif self.cursor_line + 1 < len(self.lines):
            self.cursor_line += 1
            self.cursor_col = 0
        self._want = self.cursor_col

    def _home(self) -> None:
        self.cursor_col = self._want = 0

    def _end(self) -> None:
        self.cursor_col = self._want = len(self.lines[self.cursor_line])

    def _pgup(self) -> None:
        self._page(max(0, self.cursor_line - self.text_rows))

    def _pgdn(self) -> None:
        self._page(min(len(self.lines) - 1, self.cursor_line + self.text_rows))

    def _page(self, line: int) -> None:
        delta = line - self.cursor_line
        self._vmove(line)
        # the view moves with the cursor so the cursor keeps its screen row
        self._scroll_view(max(0, self.top_line + delta) - self.top_line)

    # -- prompts and files ------------------------------------------------------------
    def _goto_prompt(self) -> None:
        self.prompt, self._input = "goto", ""

    def _open_prompt(self) -> None:
        self.prompt, self._input = "open", ""

    def _rename_prompt(self) -> None:
        self.prompt, self._input = "rename", ""

    def _verbatim_key(self) -> None:
        self._verbatim = True

    def _prompt_key(self, key: bytes) -> None:
        if key == b"\x03":
            self.prompt = None
        elif key == b"\x7f":
            self._input = self._input[:-1]
        elif key == b"\x1bv":
            self._verbatim = True
        elif key == b"\t":
            self._type("\t")
        elif key == b"\r":
            kind, arg = self.prompt, self._input
            self.prompt, self._input = None, ""
            if arg:
                {"goto": self._goto_line, "open": self._open, "rename": self._rename}[kind](arg)
        elif key in self._keys:
            pass  # navigation and editing keys do nothing while a prompt is open
        else:
            self._type(self._one_char(key, verbatim=False))

    def _goto_line(self, arg: str) -> None:
        n = min(max(int(arg), 1), len(self.lines))
        self.cursor_line, self.cursor_col, self._want = n - 1, 0, 0
        if not self.top_line <= n - 1 < self.top_line + self.text_rows:
            self.top_line = max(0, n - 1 - self.text_rows // 2)
            self._all = True

    def _open(self, path: str) -> None:
        self.path = path
        self._load(self.disk.get(path, ""))

    def _load(self, text: str) -> None:
        self.lines = text.split("\n")
        self.cursor_line = self.cursor_col = self._want = self.top_line = 0
        self.modified = False
        self._all = True

    def _save(self) -> None:
        if self.path is not None:
            self.disk[self.path] = self.text
            self.modified = False

    def _rename(self, new: str) -> None:
        if self.path is not None:
            self.disk.pop(self.path, None)
        self.path = new
        self.disk[new] = self.text
        self.modified = False

    def _delete_file(self) -> None:
        if self.path is not None:
            self.disk.pop(self.path, None)
        self.path = None
        self._load("")

    # -- viewport bookkeeping -----------------------------------------------------------
    def _set_gutter(self) -> bool:
        gw = max(3, len(str(len(self.lines)))) + 1
        if gw == self._gw:
            return False
        self._gw = gw
        self._width = self.cols - gw
        self._plain_styles = T_GUTTER * gw + T_TEXT * self._width
        self._blank_row = (" " * self.cols, T_TEXT * self.cols)
        return True

    def _row_changed(self, line: int, shift: int, x: int = 0) -> None:
        """Line ``line`` changed; ``shift`` cells were inserted (> 0) or deleted at cell x."""
        r = line - self.top_line
        if 0 <= r < self.text_rows:
            self._dirty.add(r)
            if shift and self._hline == line:
                self._shift = (r, shift, self._gw + x - self._hoff)

    def _band(self, top: int, bottom: int, n: int) -> None:
        """Scroll text rows top..bottom by n (up if > 0); the rows entering are dirty."""
        if top == bottom or abs(n) > bottom - top:
            self._dirty.update(range(top, bottom + 1))
            return
        self._p.scroll(TEXT0 + top, TEXT0 + bottom, n)
        self._shift = None
        entering = range(bottom - n + 1, bottom + 1) if n > 0 else range(top, top - n)
        self._dirty = self._moved(self._dirty, top, bottom, n) | set(entering)
        self._renumber = self._moved(self._renumber, top, bottom, n)

    @staticmethod
    def _moved(rows: set[int], top: int, bottom: int, n: int) -> set[int]:
        """Where rows end up after rows top..bottom moved up by n (rows leaving are dropped)."""
        return {r - n for r in rows if top <= r <= bottom and top <= r - n <= bottom} | \
            {r for r in rows if not top <= r <= bottom}

    def _shown_rows_from(self, r: int) -> int:
        """How many text rows from row r on show a buffer line."""
        return max(0, min(self.text_rows - 1, len(self.lines) - 1 - self.top_line) - r + 1)

    # Inserting or removing a line changes the number of every line below it, so the
    # rows below are moved with a scroll band (their text is kept) and then only their
    # gutter digits are rewritten by the row diff.
    def _line_inserted(self, j: int) -> None:
        """Line j was inserted (lines after it moved down by one)."""
        rj = j - self.top_line
        if rj >= self.text_rows or self._all:
            return  # below the view: _ensure_visible scrolls if the cursor went there
        if rj < 0:
            self._all = True
            return
        k = self._shown_rows_from(rj + 1)
        if k:
            self._band(rj, self.text_rows - 1, -1)
        self._dirty.add(rj)
        self._renumber.update(range(rj + 1, rj + k + 1))

    def _line_removed(self, j: int) -> None:
        """Line j was removed (lines after it moved up by one)."""
        rj = j - self.top_line
        if rj >= self.text_rows or self._all:
            return
        if rj < 0:
            self._all = True
            return
        k = self._shown_rows_from(rj)
        if k:
            self._band(rj, self.text_rows - 1, 1)
            self._renumber.update(range(rj, rj + k))
        else:
            self._dirty.add(rj)

    def _scroll_view(self, d: int) -> None:
        """Move the view down by d lines (up if negative)."""
        if d == 0:
            return
        self.top_line += d
        if self._all or abs(d) > self.text_rows // 2:
            self._all = True
        else:
            self._band(0, self.text_rows - 1, d)

    def _ensure_visible(self) -> None:
        cl, top = self.cursor_line, self.top_line
        if cl < top:
            self._scroll_view(cl - top)
        elif cl >= top + self.text_rows:
            self._scroll_view(cl - (top + self.text_rows - 1))

    @staticmethod
    def _cell_x(line: str, col: int) -> int:
        if is_plain(line):
            return col
        return layout(line)[2][col]

    # -- drawing --------------------------------------------------------------------------
    def _refresh(self, bars: bool = False) -> None:
        if self._set_gutter():
            self._all = True
        self._ensure_visible()
        p = self._p
        cl = self.cursor_line
        x = self._cell_x(self.lines[cl], self.cursor_col)
        hoff = scroll_offset(x, self._width)
        crow = cl - self.top_line
        if hoff != self._hoff or (self._hoff and self._hline != cl):
            if self._hoff:
                self._all = True  # the previously scrolled line may have moved: repaint all
            self._dirty.add(crow)
        self._hoff, self._hline = hoff, cl
        # bars first, text rows next, cursor row last: the cursor usually ends up in place
        if bars:
            self._put_help()
        self._put_title()
        self._put_status()
        if self._all:
            rows = range(self.text_rows)
        else:
            rows = sorted(self._dirty) if len(self._dirty) > 1 else self._dirty
            if self._renumber:
                self._put_numbers(self._renumber - self._dirty)
        for r in rows:
            if r != crow:
                p.put_row(TEXT0 + r, *self._text_row(r))
        if self._all or crow in self._dirty:
            sh = self._shift
            if sh is not None and sh[0] == crow:
                p.put_row(TEXT0 + crow, *self._text_row(crow), shift=sh[1], at=sh[2])
            else:
                p.put_row(TEXT0 + crow, *self._text_row(crow))
        self._dirty.clear()
        self._renumber.clear()
        self._all = False
        self._shift = None
        if self.prompt is None:
            p.goto(TEXT0 + crow, self._gw + x - hoff)
        else:
            p.goto(self.rows - 2, self._prompt_x)

    def _put_numbers(self, rows: set[int]) -> None:
        """Rewrite only the gutter digits that changed (rows whose text moved intact).

        Inserting or deleting a line renumbers every row below it, so this is written
        for speed: one pen, moves by LF/BS where possible, the model spliced in place.
        """
        p, gw = self._p, self._gw
        w = gw - 1
        gstyles = T_GUTTER * gw
        n = len(self.lines)
        for r in sorted(rows):
            ln = self.top_line + r
            row = TEXT0 + r
            cells = p.cells[row]
            if ln >= n or p.styles[row][:gw] != gstyles:
                p.put_row(row, *self._text_row(r))
                continue
            g = str(ln + 1).rjust(w) + " "
            old = cells[:gw]
            if old == g:
                continue
            i = 0
            while old[i] == g[i]:
                i += 1
            j = gw
            while old[j - 1] == g[j - 1]:
                j -= 1
            p.goto(row, i)
            if p.pen != T_GUTTER:
                p.out.append(SGR_GUTTER)
                p.pen = T_GUTTER
            p.out.append(g[i:j])
            p.cx = j
            p.cells[row] = g + cells[gw:]

    def _text_row(self, r: int) -> tuple[str, str]:
        ln = self.top_line + r
        if ln >= len(self.lines):
            return self._blank_row
        line = self.lines[ln]
        gw, width = self._gw, self._width
        g = f"{ln + 1:>{gw - 1}} "
        off = self._hoff if ln == self.cursor_line else 0
        if off == 0 and len(line) <= width and is_plain(line):
            return g + line + " " * (width - len(line)), self._plain_styles
        cells, styles, _ = layout(line)
        wc, ws = window(cells, styles, off, width)
        return g + wc, T_GUTTER * gw + ws

    def _fit(self, cells: str, styles: str) -> tuple[str, str]:
        """Pad or cut a bar to the screen width without splitting a wide glyph."""
        cols = self.cols
        if len(cells) > cols:
            cells, styles = cells[:cols], styles[:cols]
            if cells[-1] != CONT and len(glyph(cells[-1])[0]) == 2:
                cells = cells[:-1] + " "
        pad = cols - len(cells)
        return cells + " " * pad, styles + T_TEXT * pad

    def _put_title(self) -> None:
        key = (self.path, self.modified)
        if key == self._title_key and self._p.cells[0] is self._title_cells:
            return
        self._title_key = key
        name = text_cells(self.path)[0] if self.path is not None else "New Buffer"
        left = f" {EDITOR_VERSION}  " + name
        right = "Modified " if self.modified else ""
        pad = max(1, self.cols - len(left) - len(right))
        cells = left + " " * pad + right
        self._p.put_row(0, *self._fit(cells, T_MARK * len(cells)))
        self._title_cells = self._p.cells[0]

    def _put_status(self) -> None:
        if self.prompt is None:
            vals = (str(self.cursor_line + 1), str(len(self.lines)), str(self.cursor_col + 1))
            old = self._status_vals
            if old is not None and self._p.cells[self.rows - 2] is self._status_cells:
                if vals == old:
                    return
                if max(map(len, vals)) <= 9:
                    self._patch_status(old, vals)
                    return
            s = f" line {vals[0]:<9}of {vals[1]:<9}col {vals[2]:<9}"
            self._p.put_row(self.rows - 2, *self._fit(s, T_TEXT * len(s)))
            self._status_vals, self._status_cells = vals, self._p.cells[self.rows - 2]
            return
        self._status_vals = None
        label = PROMPT_LABELS[self.prompt]
        cells, styles = text_cells(self._input)
        room = self.cols - len(label) - 1
        if len(cells) > room:  # show the tail of a long input behind a "<" marker
            cells, styles = cells[len(cells) - room + 1:], styles[len(styles) - room + 1:]
            if cells[0] == CONT:
                cells = " " + cells[1:]
            cells, styles = "<" + cells, T_MARK + styles
        self._prompt_x = len(label) + len(cells)
        self._p.put_row(self.rows - 2, *self._fit(label + cells, T_LABEL * len(label) + styles))

    _STATUS_AT = (6, 18, 31)  # cell where each status field starts: " line L... of N... col C..."

    def _patch_status(self, old: tuple[str, str, str], vals: tuple[str, str, str]) -> None:
        """Rewrite only the status digits that changed (fields are fixed width)."""
        row, p = self.rows - 2, self._p
        for k in range(3):
            v, o = vals[k], old[k]
            if v == o:
                continue
            at = self._STATUS_AT[k]
            if len(v) == len(o):
                i = 0
                while o[i] == v[i]:
                    i += 1
                j = len(v)
                while o[j - 1] == v[j - 1]:
                    j -= 1
                seg = v[i:j]
            else:  # the number changed width: rewrite it, blanking leftover digits
                i, seg = 0, v.ljust(len(o))
            if at + i + len(seg) > self.cols:
                seg = seg[:max(0, self.cols - at - i)]
                if not seg:
                    continue
            p.patch(row, at + i, seg, T_TEXT * len(seg))
        self._status_vals, self._status_cells = vals, p.cells[row]

    def _put_help(self) -> None:
        cells, styles = "", ""
        for k, what in HELP:
            cells += k + " " + what + "  "
            styles += T_MARK * len(k) + T_TEXT * (len(what) + 3)
        self._p.put_row(self.rows - 1, *self._fit(cells, styles))
