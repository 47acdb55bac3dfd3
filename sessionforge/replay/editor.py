"""A modeless, nano-like editor simulated in Python that draws itself with VT100 bytes.

Pure Python (no pyte, no git). The buffer is one exact ``str`` kept as a list of
logical lines split on "\\n" only (a long line as a :class:`longline.LongLine`); every
key (``press``, any bytes) changes it exactly as ``replay/KEYMAP.md`` says and returns
the escape bytes that bring the terminal from the previous screen to the new one.
Screen layout (rows x cols):

* row 0: title bar (reverse video): editor name, file name, "Modified";
* rows 1 .. rows-3: text area, ``text_rows`` buffer lines with a line-number gutter;
* row rows-2: status line ("line N of M  col C") or the active prompt;
* row rows-1: help line.

Lines longer than the text area scroll horizontally, nano-like, on the cursor line
only (see :func:`display.window_part`); other lines show their start and a ">" marker.
"""

from __future__ import annotations

from ..errors import SessionforgeError
from .display import TAB_SIZE, derive_marks, glyph
from .fastkeys import FAST_MOVES, FastKeys, next_char, next_key
from .longline import LONG, Line, LongLine
from .painter import Painter
from .viewport import EDITOR_VERSION, PROMPT_LABELS

__all__ = ["Editor", "EditorError", "EDITOR_VERSION", "PROMPT_LABELS"]


class EditorError(SessionforgeError, ValueError):
    """An editor that cannot be built (a screen too small). Keys never raise: any bytes
    are read as KEYMAP.md says, and what is no key of the keymap is ignored."""


class Editor(FastKeys):
    """The simulated editor. See the module docstring and ``replay/KEYMAP.md``."""

    def __init__(self, rows: int = 48, cols: int = 160, disk: dict[str, str] | None = None) -> None:
        if rows < 4 or cols < 24:
            raise EditorError(f"screen {rows}x{cols} is too small (need at least 4 rows and 24 columns)")
        self.rows, self.cols = rows, cols
        self.disk: dict[str, str] = disk if disk is not None else {}
        self.path: str | None = None
        self.lines: list[Line] = [""]  # str, or LongLine for long lines (see _long)
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
        # Lines of at least _long code points are held as LongLine, shorter than half of it
        # as str (in between: either, so a line at the boundary does not flip each key).
        # Above 2 * cols, so that the fast paths (lines narrower than the text area, str
        # only) see exactly the lines they always did.
        self._long = max(LONG, 2 * cols)
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
        return "\n".join(map(str, self.lines))

    @property
    def line_count(self) -> int:
        """Number of logical lines (a buffer ending in "\\n" has an empty last line)."""
        return len(self.lines)

    # -- public API ---------------------------------------------------------------------
    def press(self, key: bytes) -> bytes:
        """Apply a key as a terminal sends it (or any bytes: KEYMAP.md, "Any bytes"); return the
        bytes that update the screen."""
        if self._quiet():
            if len(key) == 1 and 32 <= key[0] < 127:
                if self._fast_type(chr(key[0])):
                    return self._p.flush()
            elif key in FAST_MOVES and self._fast_move(key):
                return self._p.flush()
            elif (key == b"\x7f" or key == b"\x1b[3~") and self._fast_delete(key == b"\x7f"):
                return self._p.flush()
        if self._verbatim or self.prompt is not None or key not in self._keys:
            self._feed(key)
        else:
            self._keys[key]()
        self._refresh()
        return self._p.flush()

    def redraw(self) -> bytes:
        """Full repaint from a blank screen (the first frame of a session)."""
        self._p.reset()
        self._all = True
        self._refresh(bars=True)
        return self._p.flush()

    # -- key decoding -------------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        """Apply the keys in ``data`` in order, whatever the bytes (KEYMAP.md, "Any bytes")."""
        i, n = 0, len(data)
        while i < n:
            if self._verbatim:  # Alt-V takes the next character as it is, ESC and controls too
                ch, i = next_char(data, i)
                if ch is not None:
                    self._verbatim = False
                    self._type(ch)
                continue
            key, i = next_key(data, i)
            if key is None:
                continue
            if self.prompt is not None:
                self._prompt_key(key)
                continue
            handler = self._keys.get(key)
            if handler is not None:
                handler()
            else:
                ch = _printable(key)
                if ch is not None:
                    self._insert(ch)

    def _type(self, ch: str) -> None:
        """A typed or verbatim character: into the prompt's input, or the buffer."""
        if self.prompt is not None:
            if self.prompt != "goto" or ch.isdigit() and ch.isascii():
                self._input += ch
        elif ch == "\n":
            self._enter()  # "\n" is the line separator: Alt-V + LF splits the line like Enter
        else:
            self._insert(ch)

    # -- text edits -------------------------------------------------------------------
    def _touch(self) -> None:
        self._want = self.cursor_col
        self.modified = True

    def _insert(self, ch: str) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        x = self._cell_x(cl, cc)
        w = TAB_SIZE - x % TAB_SIZE if ch == "\t" else len(glyph(ch)[0])
        line = self.lines[cl]
        if type(line) is str and len(line) + 1 < self._long:
            self.lines[cl] = new = line[:cc] + ch + line[cc:]
            derive_marks(new, line, cc)
        else:  # a long line: edit one chunk, not a copy of the whole line
            if type(line) is str:
                line = self.lines[cl] = LongLine.of(line)
            line.insert(cc, ch)
        self.cursor_col = cc + 1
        self._touch()
        self._row_changed(cl, w, x)

    def _enter(self) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        if isinstance(line, LongLine):
            self.lines[cl:cl + 1] = [self._as_line(part) for part in line.split(cc)]
        else:
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
            x = self._cell_x(cl, cc - 1)
            w = self._cell_x(cl, cc) - x
            self._remove_char(cl, cc - 1)
            self.cursor_col = cc - 1
            self._touch()
            self._row_changed(cl, -w, x)
        elif cl > 0:
            prev = self.lines[cl - 1]
            self.lines[cl - 1:cl + 1] = [self._join(prev, line)]
            self.cursor_line, self.cursor_col = cl - 1, len(prev)
            self._touch()
            self._row_changed(cl - 1, 0)
            self._line_removed(cl)
        self._want = self.cursor_col

    def _delete(self) -> None:
        cl, cc = self.cursor_line, self.cursor_col
        line = self.lines[cl]
        if cc < len(line):
            x = self._cell_x(cl, cc)
            w = self._cell_x(cl, cc + 1) - x
            self._remove_char(cl, cc)
            self._touch()
            self._row_changed(cl, -w, x)
        elif cl + 1 < len(self.lines):
            self.lines[cl:cl + 2] = [self._join(line, self.lines[cl + 1])]
            self._touch()
            self._row_changed(cl, 0)
            self._line_removed(cl + 1)
        self._want = self.cursor_col

    def _remove_char(self, ln: int, k: int) -> None:
        line = self.lines[ln]
        if type(line) is str:
            self.lines[ln] = new = line[:k] + line[k + 1:]
            derive_marks(new, line, k)
            return
        line.delete(k)
        self.lines[ln] = self._as_line(line)

    def _join(self, a: Line, b: Line) -> Line:
        if type(a) is str and type(b) is str and len(a) + len(b) < self._long:
            return a + b
        return self._as_line(LongLine.join(a, b))

    def _as_line(self, line: Line) -> Line:
        """``line`` held as its length asks (see ``_long``)."""
        if isinstance(line, LongLine):
            return str(line) if len(line) < self._long // 2 else line
        return LongLine.of(line) if len(line) >= self._long else line

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
        elif key not in self._keys:  # (other keymap keys do nothing while a prompt is open)
            ch = _printable(key)
            if ch is not None:
                self._type(ch)

    def _goto_line(self, arg: str) -> None:
        digits = arg.lstrip("0")  # ASCII digits only; a number too long for int() is past the end anyway
        n = int(digits) if 0 < len(digits) < 19 else 0 if not digits else len(self.lines)
        n = min(max(n, 1), len(self.lines))
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


def _printable(key: bytes) -> str | None:
    """The character a one-character key types, or None (an escape sequence, a control)."""
    if key[0] == 0x1B:
        return None
    ch = key.decode("utf-8")  # next_key gives whole characters only
    return ch if ch >= " " and ch != "\x7f" else None
