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
shows, never from the whole line; the cell column of a code point is found from
cached marks (:func:`str_x`), or for a long line from its chunk index
(:class:`longline.LongLine`), so the layout work of a key does not grow with the line.
"""

from __future__ import annotations

import re
import unicodedata

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
