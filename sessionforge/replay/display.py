"""Safe cell rendering of file content: what each code point looks like on screen.

The editor never sends a byte of file content to the terminal as-is unless the code
point is a plain printable glyph that pyte draws into exactly one or two cells.
Everything else is translated *for display only* (the buffer keeps the exact text):

* C0 controls and DEL -> caret notation in two cells (``^[``, ``^M``, ``^?``), styled;
* C1 controls (U+0080-U+009F), surrogates, private-use and unassigned code points and
  anything pyte would refuse to draw -> the replacement glyph U+FFFD, styled;
* zero-width code points (combining marks, ZWJ, variation selectors, format chars)
  -> a dotted-circle placeholder U+25CC in one cell, styled, so every code point owns
  at least one cell and the grid can never be corrupted by pyte's combining logic;
* tabs -> spaces up to the next multiple of :data:`TAB_SIZE` (line-relative cells);
* east-asian wide characters and emoji -> the glyph plus a continuation cell.

A rendered row is two strings of equal length, one code point per cell: ``cells``
(the glyph of each cell, :data:`CONT` for the right half of a wide glyph) and
``styles`` (``chr(style id)`` per cell). Strings make whole-row comparisons and
prefix/suffix searches run at C speed; laying out text is ``str.translate`` through
per-code-point tables, so it runs at C speed too.

Every code point takes at least one cell, so the first ``n`` cells of a line come from
at most its first ``n`` code points: a row is laid out from the part of the line it
shows, never from the whole line. Lines of :data:`LONG` code points or more are held
as a :class:`LongLine` (chunks with an index of display columns), so that editing one
and finding the cursor's cell column cost the same whatever the line's length.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import Union

from wcwidth import wcwidth  # the very function pyte uses, so widths always agree

TAB_SIZE = 8
CONT = "\x00"  # right half of a wide glyph (NUL itself is displayed as "^@")
REPLACEMENT = "\ufffd"
PLACEHOLDER = "\u25cc"

# Style ids (index into painter.SGR). Kept tiny: every style switch costs bytes.
S_TEXT = 0      # default colours
S_SPECIAL = 1   # caret notation, replacement glyph, placeholder
S_MARK = 2      # horizontal-scroll markers "<" ">" and bars (reverse video)
S_GUTTER = 3    # line numbers
S_LABEL = 4     # prompt labels (bold)
T_TEXT, T_SPECIAL, T_MARK, T_GUTTER, T_LABEL = (chr(s) for s in range(5))

_UNSAFE_CATEGORIES = frozenset(("Cc", "Cs", "Co", "Cn"))

# char -> (glyph cells as str, style char). Filled lazily; bounded by the alphabet seen.
_GLYPHS: dict[str, tuple[str, str]] = {}

# Layout work so far: code points laid out (every layout primitive adds the length of
# its input) plus steps of a LongLine's column index. The tests read it to check that
# the work per key does not grow with the line length.
WORK = [0]


def glyph(ch: str) -> tuple[str, str]:
    """Return ``(cells, style)`` for one non-tab code point: ``cells`` is 1 or 2 cells.

    ``style`` is a single style char applied to every cell of the glyph.
    """
    got = _GLYPHS.get(ch)
    if got is not None:
        return got
    o = ord(ch)
    if o < 0x20 or o == 0x7F:
        got = ("^" + chr(o ^ 0x40), T_SPECIAL)  # caret notation: ^@ .. ^_, ^?
    elif unicodedata.category(ch) in _UNSAFE_CATEGORIES:
        got = (REPLACEMENT, T_SPECIAL)  # C1 controls, surrogates, private use, unassigned
    else:
        w = wcwidth(ch)
        if w == 1:
            got = (ch, T_TEXT)
        elif w == 2:
            got = (ch + CONT, T_TEXT)
        elif w == 0:
            got = (PLACEHOLDER, T_SPECIAL)  # combining / zero-width: never let pyte combine
        else:
            got = (REPLACEMENT, T_SPECIAL)
    _GLYPHS[ch] = got
    return got


class _Table(dict):
    """Ordinal -> the glyph's cells (``styles=False``) or styles, for ``str.translate``.

    Filled from :func:`glyph` the first time a code point is seen (``__missing__``), so
    translating a string costs one C-level dict lookup per code point. A tab maps to its
    caret form ``^I``: line layouts split tabs out first (their width depends on the
    column), UI text shows them as carets.
    """

    def __init__(self, styles: bool) -> None:
        super().__init__()
        self.styles = styles

    def __missing__(self, o: int) -> str:
        cells, style = glyph(chr(o))
        v = self[o] = style * len(cells) if self.styles else cells
        return v


CELLS = _Table(False)
STYLES = _Table(True)


def is_plain(line: object) -> bool:
    """True when ``line`` is a ``str`` of printable ASCII only (one cell per code point)."""
    return type(line) is str and line.isascii() and line.isprintable()


# runs of code points that are not printable ASCII: only these go through the tables
_SPECIAL = re.compile(r"[^ -~]+")


def _cells(s: str) -> tuple[str, str]:
    """Cells and styles of tab-free text."""
    if s.isascii() and s.isprintable():
        return s, T_TEXT * len(s)
    if len(s) < 8:
        return s.translate(CELLS), s.translate(STYLES)
    # mostly ASCII in practice: copy the plain runs, translate only the special ones
    cs: list[str] = []
    ss: list[str] = []
    i = 0
    for m in _SPECIAL.finditer(s):
        a = m.start()
        if a > i:
            cs.append(s[i:a])
            ss.append(T_TEXT * (a - i))
        run = m.group()
        cs.append(run.translate(CELLS))
        ss.append(run.translate(STYLES))
        i = m.end()
    if i < len(s):
        cs.append(s[i:])
        ss.append(T_TEXT * (len(s) - i))
    return "".join(cs), "".join(ss)


def _width(s: str) -> int:
    """Cells of tab-free text."""
    if s.isascii() and s.isprintable():
        return len(s)
    if len(s) < 8:
        return len(s.translate(CELLS))
    n = len(s)
    for run in _SPECIAL.findall(s):  # every glyph is one or two cells: count the second cells
        n += len(run.translate(CELLS)) - len(run)
    return n


def lay(seg: str, x0: int = 0) -> tuple[str, str]:
    """Cells and styles of ``seg``, a piece of a line that starts at cell column ``x0``.

    Only tabs depend on ``x0``: each expands to spaces up to the next multiple of
    :data:`TAB_SIZE` counted from the start of the line.
    """
    WORK[0] += len(seg)
    if "\t" not in seg:
        return _cells(seg)
    cs: list[str] = []
    ss: list[str] = []
    x = x0
    for i, part in enumerate(seg.split("\t")):
        if i:
            n = TAB_SIZE - x % TAB_SIZE
            cs.append(" " * n)
            ss.append(T_TEXT * n)
            x += n
        c, s = _cells(part)
        cs.append(c)
        ss.append(s)
        x += len(c)
    return "".join(cs), "".join(ss)


def advance(seg: str, x0: int = 0) -> int:
    """The cell column after ``seg`` laid out from column ``x0`` (what :func:`lay` would reach)."""
    WORK[0] += len(seg)
    if "\t" not in seg:
        return x0 + _width(seg)
    x = x0
    for i, part in enumerate(seg.split("\t")):
        if i:
            x += TAB_SIZE - x % TAB_SIZE
        x += _width(part)
    return x


MARK = 32  # code points between two cached cell columns of a str line (str_x)
# id(line) -> (line, [x at code point 0, MARK, 2 * MARK, ...]): the line is kept so its
# id cannot be reused while the entry lives
_MARKS: dict[int, tuple[str, list[int]]] = {}


def str_x(line: str, c: int) -> int:
    """Cell column where code point ``c`` of ``line`` starts (``c == len``: its width).

    The cell column of every MARK-th code point is cached per line object, so moving
    the cursor within a line lays out at most MARK code points a key, and a line made
    by an edit inherits the marks before the edit (:func:`derive_marks`).
    """
    got = _MARKS.get(id(line))
    if got is not None and got[0] is line:
        marks = got[1]
    else:
        marks = [0]
        _remember(line, marks)
    k = c // MARK
    while len(marks) <= k:
        i = len(marks) - 1
        marks.append(advance(line[i * MARK:i * MARK + MARK], marks[i]))
    return advance(line[k * MARK:c], marks[k])


def derive_marks(new: str, old: str, k: int) -> None:
    """``new`` equals ``old`` before code point ``k``: it starts with ``old``'s marks up to ``k``."""
    got = _MARKS.get(id(old))
    if got is not None and got[0] is old:
        _remember(new, got[1][:k // MARK + 1])


def _remember(line: str, marks: list[int]) -> None:
    if len(_MARKS) >= 64:
        del _MARKS[next(iter(_MARKS))]
    _MARKS[id(line)] = (line, marks)


def describe(seg: str) -> tuple[int, int]:
    """``seg``'s effect on the cell column, independent of where it starts: ``(a, b)``.

    Laid out from column ``x``, ``seg`` ends at ``x + a`` when it holds no tab
    (``b == -1``); otherwise its first tab starts at ``x + a`` and ends on a tab stop,
    and the rest of ``seg`` adds ``b`` cells from there (tab stops are multiples of
    :data:`TAB_SIZE`, so what follows a tab stop does not depend on ``x``). See
    :func:`after`.
    """
    i = seg.find("\t")
    if i < 0:
        WORK[0] += len(seg)
        return _width(seg), -1
    WORK[0] += i
    return _width(seg[:i]), advance(seg[i + 1:], 0)


def after(d: tuple[int, int], x: int) -> int:
    """The cell column after a piece described by ``d`` (:func:`describe`) laid out from ``x``."""
    a, b = d
    if b < 0:
        return x + a
    return (x + a) // TAB_SIZE * TAB_SIZE + TAB_SIZE + b


def window(cells: str, styles: str, offset: int, width: int) -> tuple[str, str]:
    """Cut ``width`` cells of a laid-out line starting at cell ``offset``.

    Horizontal scrolling (nano-like): when ``offset > 0`` the first cell shows a "<"
    marker, when the line continues past the window the last cell shows ">". A wide
    glyph cut by either edge is replaced by a blank so no half glyph reaches pyte.
    The result is padded with blanks to exactly ``width`` cells.
    """
    return window_part(cells, styles, offset, width, offset > 0, offset + width < len(cells))


def window_part(cells: str, styles: str, at: int, width: int, scrolled: bool, more: bool) -> tuple[str, str]:
    """:func:`window` on part of a laid-out line: ``cells[at:]`` is the window's first
    cell onwards (covering the window, or up to the line's end), ``scrolled`` says the
    window does not start at the line's first cell, ``more`` that the line goes on
    past the window."""
    if not scrolled and not more:
        pad = width - len(cells)
        return cells + " " * pad, styles + T_TEXT * pad
    c = cells[at:at + width]
    s = styles[at:at + width]
    if scrolled:
        # "<" covers the first cell; a continuation right after it is an orphan half
        c = "<" + c[1:]
        s = T_MARK + s[1:]
        if len(c) > 1 and c[1] == CONT:
            c = c[0] + " " + c[2:]
            s = s[0] + T_TEXT + s[2:]
    if more:
        # ">" covers the last cell; if it cut a wide glyph, blank the orphan left half
        if c[width - 1] == CONT:
            c = c[:width - 2] + " " + c[width - 1:]
            s = s[:width - 2] + T_TEXT + s[width - 1:]
        c = c[:width - 1] + ">"
        s = s[:width - 1] + T_MARK
    pad = width - len(c)
    if pad:
        c += " " * pad
        s += T_TEXT * pad
    return c, s


def scroll_offset(x: int, width: int) -> int:
    """Horizontal offset (in cells) that shows cell column ``x`` of the cursor line.

    Lines scroll in steps of ``width - 2`` cells; columns 1..width-2 of a scrolled
    window are usable so the cursor never sits under a "<" or ">" marker.
    """
    if x < width - 1:
        return 0
    step = width - 2
    return ((x - 1) // step) * step


def text_cells(text: str) -> tuple[str, str]:
    """Lay out short UI text (paths, prompt input) safely; a tab shows as ``^I``."""
    WORK[0] += len(text)
    if text.isascii() and text.isprintable():
        return text, T_TEXT * len(text)
    return text.translate(CELLS), text.translate(STYLES)


# ---------------------------------------------------------------------------- long lines

LONG = 512     # the editor holds lines of max(LONG, 2 * cols) code points or more as LongLine
CHUNK = 64     # code points per chunk of a LongLine; a chunk is split past 2 * CHUNK


class LongLine:
    """A long logical line held as chunks of text, with an index of display columns.

    Typing into a ``str`` copies the whole line, and finding the cell column of a code
    point lays out everything before it: both grow with the line. Here an edit rebuilds
    one chunk, and the cell column where each chunk starts is kept for a prefix of the
    chunks (``xs[j]``, valid for ``j < nvalid``): an edit in chunk ``j`` invalidates only
    the chunks after it, and a query extends the valid prefix one chunk at a time from
    each chunk's :func:`describe` (O(1) each). Edits and queries near the cursor so cost
    O(CHUNK) whatever the length; a jump far to the right costs one step per chunk
    crossed, once.

    It reads like a ``str`` where the editor reads lines: ``len``, slicing (returns a
    ``str``), ``str()`` for the whole text.
    """

    __slots__ = ("parts", "fns", "starts", "xs", "nvalid", "n")

    def __init__(self, parts: list[str]) -> None:
        self.parts = [p for p in parts if p]
        k = len(self.parts)
        self.fns: list[tuple[int, int] | None] = [None] * k  # describe(part), filled on demand
        self.starts = [0] * k  # code point where chunk j starts  } valid for j < nvalid
        self.xs = [0] * k      # cell column where chunk j starts  }
        self.nvalid = 1 if k else 0
        self.n = sum(map(len, self.parts))

    @classmethod
    def of(cls, text: str) -> "LongLine":
        """A LongLine holding ``text``."""
        return cls([text[i:i + CHUNK] for i in range(0, len(text), CHUNK)])

    def __len__(self) -> int:
        return self.n

    def __str__(self) -> str:
        return "".join(self.parts)

    def __getitem__(self, key: slice) -> str:
        a, b, step = key.indices(self.n)
        if step != 1:
            raise ValueError("LongLine slices take no step")
        if a >= b:
            return ""
        j = self._find(a)
        out = []
        s = self.starts[j]
        parts = self.parts
        while s < b:  # chunks past the valid prefix: their starts follow from the lengths
            p = parts[j]
            out.append(p[max(0, a - s):b - s])
            s += len(p)
            j += 1
        return "".join(out)

    def _find(self, c: int) -> int:
        """The chunk holding code point ``c`` (the last chunk for ``c == len``); the index
        is made valid up to it."""
        parts, starts, nv = self.parts, self.starts, self.nvalid
        j = nv - 1
        if c < starts[j] + len(parts[j]):
            return bisect_right(starts, c, 0, nv) - 1
        xs, fns, last = self.xs, self.fns, len(parts) - 1
        while j < last and starts[j] + len(parts[j]) <= c:
            d = fns[j]
            if d is None:
                d = fns[j] = describe(parts[j])
            starts[j + 1] = starts[j] + len(parts[j])
            xs[j + 1] = after(d, xs[j])
            j += 1
        WORK[0] += j + 1 - nv
        self.nvalid = j + 1
        return j

    def x_at(self, c: int) -> int:
        """Cell column where code point ``c`` starts (``c == len``: the line's width)."""
        if c <= 0 or not self.parts:
            return 0
        j = self._find(c)
        return advance(self.parts[j][:c - self.starts[j]], self.xs[j])

    def cells_from(self, off: int, need: int) -> tuple[int, str, str]:
        """``(x0, cells, styles)``: the line laid out from a code point that starts at cell
        ``x0 <= off``, covering cells ``off .. off + need - 1`` or reaching the line's end.

        Call :meth:`x_at` for a column at or right of ``off`` first (the editor asks for
        the cursor's): the chunk holding cell ``off`` is then in the valid prefix.
        """
        if not self.parts:
            return 0, "", ""
        j = max(0, bisect_right(self.xs, off, 0, self.nvalid) - 1)
        s, x0 = self.starts[j], self.xs[j]
        m = len(self.parts[j]) + need
        while True:
            cells, styles = lay(self[s:s + m], x0)
            if x0 + len(cells) >= off + need or s + m >= self.n:
                return x0, cells, styles
            m *= 2

    def insert(self, k: int, ch: str) -> None:
        """Insert ``ch`` before code point ``k``."""
        if not self.parts:
            self.parts, self.fns, self.starts, self.xs, self.nvalid, self.n = [ch], [None], [0], [0], 1, len(ch)
            return
        j = self._find(k)
        p = self.parts[j]
        i = k - self.starts[j]
        p = p[:i] + ch + p[i:]
        if len(p) > 2 * CHUNK:
            h = len(p) // 2
            self.parts[j:j + 1] = [p[:h], p[h:]]
            self.fns[j:j + 1] = [None, None]
            self.starts.insert(j + 1, 0)
            self.xs.insert(j + 1, 0)
        else:
            self.parts[j] = p
            self.fns[j] = None
        self.nvalid = j + 1  # chunk j still starts where it did; later ones moved
        self.n += len(ch)

    def delete(self, k: int) -> None:
        """Remove code point ``k`` (``k < len``)."""
        j = self._find(k)
        p = self.parts[j]
        i = k - self.starts[j]
        p = p[:i] + p[i + 1:]
        self.n -= 1
        if p:
            self.parts[j] = p
            self.fns[j] = None
            self.nvalid = j + 1
            return
        for lst in (self.parts, self.fns, self.starts, self.xs):
            del lst[j]
        if j == 0 and self.parts:
            self.starts[0] = self.xs[0] = 0
        self.nvalid = max(j, 1) if self.parts else 0

    def split(self, k: int) -> tuple["LongLine", "LongLine"]:
        """The text before and after code point ``k``."""
        if not self.parts:
            return LongLine([]), LongLine([])
        j = self._find(k)
        p, i = self.parts[j], k - self.starts[j]
        left = LongLine(self.parts[:j] + [p[:i]])
        keep = min(j, len(left.parts))  # chunks before j keep their descriptions and places
        left.fns[:keep] = self.fns[:keep]
        left.starts[:keep] = self.starts[:keep]
        left.xs[:keep] = self.xs[:keep]
        left.nvalid = max(1, keep) if left.parts else 0
        rest = self.parts[j + 1:]
        right = LongLine([p[i:]] + rest)
        right.fns[len(right.parts) - len(rest):] = self.fns[j + 1:]  # descriptions do not depend on place
        return left, right

    @staticmethod
    def join(a: "Line", b: "Line") -> "LongLine":
        """The line ``a + b``."""
        left = a if isinstance(a, LongLine) else LongLine.of(a)
        right = b if isinstance(b, LongLine) else LongLine.of(b)
        out = LongLine(left.parts + right.parts)
        keep = min(left.nvalid, len(left.parts))
        out.fns = left.fns + right.fns
        out.starts[:keep] = left.starts[:keep]
        out.xs[:keep] = left.xs[:keep]
        out.nvalid = max(1, keep) if out.parts else 0
        return out


Line = Union[str, LongLine]
