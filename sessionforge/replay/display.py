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
prefix/suffix searches run at C speed.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np
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


def is_plain(line: str) -> bool:
    """True when every code point of ``line`` is printable ASCII (one cell each)."""
    if len(line) < 256:
        return line.isascii() and line.isprintable()
    # long lines are asked several times per key: hashing (cached in the str) is
    # ~10x cheaper than isprintable
    got = _PLAIN.get(line)
    if got is None:
        got = line.isascii() and line.isprintable()
        if len(_PLAIN) >= 64:
            _PLAIN.clear()
        _PLAIN[line] = got
    return got


_PLAIN: dict[str, bool] = {}


def derived_plain(new: str, old: str, inserted: str = "") -> None:
    """Record that ``new`` (``old`` with ``inserted`` added or chars removed) is plain
    when that follows from ``old`` being plain, sparing a scan of a long line."""
    if len(new) >= 256 and (not inserted or " " <= inserted < "\x7f") and is_plain(old):
        if len(_PLAIN) >= 64:
            _PLAIN.clear()
        _PLAIN[new] = True


def layout(line: str) -> tuple[str, str, Sequence[int]]:
    """Lay out a logical line: ``(cells, styles, xs)``.

    ``xs[i]`` is the cell column where code point ``i`` starts; ``xs[len(line)]`` is
    the total width (where the cursor sits at the end of the line). ``xs`` is a list
    for plain lines and an int64 numpy array otherwise (cheap to shift, see
    :func:`derive_layout`).
    """
    if is_plain(line):
        return line, T_TEXT * len(line), list(range(len(line) + 1))
    got = _LAYOUTS.get(line)
    if got is None:
        got = _layout(line)
        _store(line, got)
    return got


# Recent layouts: one key is laid out several times (cursor cell, row render), and
# a line of 100k characters must not be walked in Python more than once per change.
_LAYOUTS: dict[str, tuple[str, str, Sequence[int]]] = {}


def _store(line: str, got: tuple[str, str, Sequence[int]]) -> None:
    if len(_LAYOUTS) >= 64:
        _LAYOUTS.clear()
    _LAYOUTS[line] = got


def derive_layout(new: str, old: str, k: int, inserted: str | None) -> None:
    """Cache the layout of ``new``: ``old`` with ``inserted`` put at code point ``k``, or
    (``inserted`` None) with code point ``k`` removed.

    Typing into a long non-plain line (minified code with a few non-ASCII characters)
    would otherwise walk the whole line in Python on every key; this shifts the cached
    layout with string and numpy operations instead. Tabs after the edit point change
    width with their column, so then nothing is derived (``layout`` recomputes).
    """
    if len(new) < 512 or is_plain(new):
        return
    got = _LAYOUTS.get(old)
    if got is None or inserted == "\t" or "\t" in new[k:]:
        return
    cells, styles, xs = got
    x = int(xs[k])
    if inserted is not None:
        g, st = glyph(inserted)
        w = len(g)
        _store(new, (cells[:x] + g + cells[x:], styles[:x] + st * w + styles[x:],
                     np.concatenate((xs[:k + 1], xs[k:] + w))))
    else:
        w = int(xs[k + 1]) - x
        _store(new, (cells[:x] + cells[x + w:], styles[:x] + styles[x + w:],
                     np.concatenate((xs[:k + 1], xs[k + 2:] - w))))


def _layout(line: str) -> tuple[str, str, Sequence[int]]:
    cells: list[str] = []
    styles: list[str] = []
    xs: list[int] = []
    x = 0
    for ch in line:
        xs.append(x)
        if ch == "\t":
            n = TAB_SIZE - x % TAB_SIZE
            cells.append(" " * n)
            styles.append(T_TEXT * n)
            x += n
            continue
        g, s = glyph(ch)
        cells.append(g)
        styles.append(s * len(g))
        x += len(g)
    xs.append(x)
    return "".join(cells), "".join(styles), np.array(xs, np.int64)


def window(cells: str, styles: str, offset: int, width: int) -> tuple[str, str]:
    """Cut ``width`` cells of a laid-out line starting at cell ``offset``.

    Horizontal scrolling (nano-like): when ``offset > 0`` the first cell shows a "<"
    marker, when the line continues past the window the last cell shows ">". A wide
    glyph cut by either edge is replaced by a blank so no half glyph reaches pyte.
    The result is padded with blanks to exactly ``width`` cells.
    """
    total = len(cells)
    if offset == 0 and total <= width:
        pad = width - total
        return cells + " " * pad, styles + T_TEXT * pad
    c = cells[offset:offset + width]
    s = styles[offset:offset + width]
    if offset > 0:
        # "<" covers the first cell; a continuation right after it is an orphan half
        c = "<" + c[1:]
        s = T_MARK + s[1:]
        if len(c) > 1 and c[1] == CONT:
            c = c[0] + " " + c[2:]
            s = s[0] + T_TEXT + s[2:]
    if offset + width < total:
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
    if is_plain(text):
        return text, T_TEXT * len(text)
    cells: list[str] = []
    styles: list[str] = []
    for ch in text:
        g, s = glyph(ch)
        cells.append(g)
        styles.append(s * len(g))
    return "".join(cells), "".join(styles)
