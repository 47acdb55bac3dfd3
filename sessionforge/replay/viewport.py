"""Viewport and drawing of the replay editor (a mixin of :class:`editor.Editor`).

The view keeps the Painter's model in step with the editor state. Edits report what
changed (``_row_changed``, ``_line_inserted``, ``_line_removed``); ``_refresh`` then
scrolls bands of rows, re-renders dirty rows, rewrites stale gutter digits and the
status digits, and places the cursor. Rows are rendered by :mod:`display` (safe
cells) and emitted by :mod:`painter` (minimal updates).
"""

from __future__ import annotations

from .display import (
    CONT, T_GUTTER, T_LABEL, T_MARK, T_TEXT, glyph, lay, scroll_offset, str_x, text_cells, window_part,
)
from .longline import Line, LongLine
from .painter import SGR, Painter

EDITOR_VERSION = "sfedit-1"
TEXT0 = 1  # screen row of the first text row
SGR_GUTTER = SGR[ord(T_GUTTER)]
HELP = (("^G", "Go to line"), ("^O", "Open"), ("^S", "Save"), ("^K", "Cut line"),
        ("^C", "Cancel"), ("M-V", "Verbatim"), ("M-R", "Rename"), ("M-D", "Delete file"))
PROMPT_LABELS = {"goto": "Go to line: ", "open": "Open file: ", "rename": "Rename to: "}


class EditorView:
    """Viewport bookkeeping and drawing; uses the editor state set up by ``Editor``."""

    rows: int
    cols: int
    lines: list[Line]
    cursor_line: int
    cursor_col: int
    top_line: int
    text_rows: int
    _long: int
    prompt: str | None
    path: str | None
    modified: bool
    _input: str
    _p: Painter

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
    # changed gutter digits are rewritten (_put_numbers).
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

    def _cell_x(self, ln: int, col: int) -> int:
        """Cell column where code point ``col`` of line ``ln`` starts (``col == len``: its width)."""
        line = self.lines[ln]
        if type(line) is str:
            if col < self._long:
                head = line if len(line) < self._long else line[:col]  # (a long line: check only what counts)
                return col if head.isascii() and head.isprintable() else str_x(line, col)
            # the cursor went far into a long line: index it (once) instead of laying out col cells per key
            line = self.lines[ln] = LongLine.of(line)
        return line.x_at(col)

    # -- drawing --------------------------------------------------------------------------
    def _refresh(self, bars: bool = False) -> None:
        if self._set_gutter():
            self._all = True
        self._ensure_visible()
        p = self._p
        cl = self.cursor_line
        x = self._cell_x(cl, self.cursor_col)
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
        if off == 0 and type(line) is str and len(line) <= width and line.isascii() and line.isprintable():
            return g + line + " " * (width - len(line)), self._plain_styles
        # Lay out only what the window shows: every code point takes at least one cell,
        # so cells 0 .. off + width come from the first off + width + 1 code points (a
        # LongLine scrolled far right is laid out from an indexed chunk near ``off``).
        if off and isinstance(line, LongLine):
            x0, cells, styles = line.cells_from(off, width + 1)
        else:
            x0 = 0
            cells, styles = lay(line[:off + width + 1])
        wc, ws = window_part(cells, styles, off - x0, width, off > 0, x0 + len(cells) > off + width)
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
        # every code point takes a cell or two: the first cols of them fill the bar
        name = text_cells(self.path[:self.cols])[0] if self.path is not None else "New Buffer"
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
        room = self.cols - len(label) - 1
        inp = self._input
        # only the last `room` code points can show (each takes at least one cell)
        cells, styles = text_cells(inp[-room:] if len(inp) > room else inp)
        if len(inp) > room or len(cells) > room:  # show the tail of a long input behind a "<" marker
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
