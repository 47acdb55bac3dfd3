"""Escape injection: file content (and file names) can never drive the terminal."""

from __future__ import annotations

import numpy as np
import pytest

from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal

NASTY = [
    "clear\x1b[2Jscreen\x1b[3J",
    "home\x1b[Hmove\x1b[10;10Hto\x1b[5Aup",
    "osc\x1b]0;pwned title\x07and\x1b]2;again\x1b\\st",
    "alt\x1b[?1049hscreen\x1b[?47h",
    "paste\x1b[200~inside\x1b[201~",
    "dcs\x1bPq#0;2;0;0;0\x1b\\end",
    "csi8\u009b2Jbit\u009d0;t\u0007\u0090dcs\u009c",
    "cr\rlf\x0bff\x0cbs\x08\x08nul\x00del\x7f",
    "ris\x1bcdecaln\x1b#8rev\x1b[?5hhide\x1b[?25lmargin\x1b[2;3r",
    "sgr\x1b[31;44;1;7mred\x1b[0m\x1b[38;5;9m\x1b[48;2;1;2;3m",
    "ins\x1b[4hmode\x1b[20@ich\x1b[5Pdch\x1b[2Lil\x1b[3Mdl\x1bM\x1bD\x1bE",
    "wide日本😀comb\u0301\u0301zwj\u200d\ufe0f\ue000\U0010fffd\ufeff",
    "\x1b" * 30 + "[" * 10 + "\x1b[" + "9" * 40 + "m",
    "tab\tx\t\ty",
]


def _caret(ch: str) -> str:
    """Independent statement of the display rule for the characters used above."""
    o = ord(ch)
    if o < 0x20 or o == 0x7F:
        return "^" + chr(o ^ 0x40)
    if 0x80 <= o < 0xA0 or 0xE000 <= o < 0xF900 or o >= 0xF0000:
        return "\ufffd"
    if ch in "\u0301\u200d\ufe0f\ufeff":
        return "\u25cc"
    return ch


def _expected_line(line: str) -> str:
    out = ""
    for ch in line:
        if ch == "\t":
            out += " " * (8 - len(out) % 8)
        else:
            out += _caret(ch)
    return out


def _render(text: str, path: str = "evil.txt", rows: int = 24, cols: int = 160) -> tuple[Editor, Terminal]:
    ed = Editor(rows, cols, {path: text})
    term = Terminal(rows, cols)
    term.feed(ed.redraw())
    typed = [b"\x1bv" + c.encode() if c < " " or c == "\x7f" else c.encode() for c in path]
    for k in [b"\x0f", *typed, b"\r"]:
        term.feed(ed.press(k))
    term.snapshot()
    return ed, term


def _display_cells(term: Terminal, row: int) -> str:
    """Row text with wide-char right halves dropped (as pyte.Screen.display does)."""
    return term.screen.display[row]


def _clean_reference(rows: int, cols: int, nlines: int) -> Terminal:
    """Same editor chrome with harmless content, for comparing bars, modes and title."""
    _, ref = _render("\n".join("x" for _ in range(nlines)), rows=rows, cols=cols)
    return ref


@pytest.mark.parametrize("nasty", NASTY)
def test_file_content_cannot_escape_the_text_area(nasty: str) -> None:
    text = nasty + "\nsecond line\n" + nasty
    rows, cols = 24, 160
    ed, term = _render(text, rows=rows, cols=cols)
    s = term.screen
    ref = _clean_reference(rows, cols, 3)
    # terminal state untouched: no title, same modes, no margins, cursor visible and home
    assert s.title == "" and s.icon_name == ""
    assert s.mode == ref.screen.mode and s.margins is None
    assert term.cursor == (1, 4, True)
    # title, status and help rows are exactly the clean editor's
    for r in (0, rows - 2, rows - 1):
        got = _display_cells(term, r)
        want = _display_cells(ref, r)
        assert got == want, (r, got, want)
        for plane, ref_plane in zip((term.fg, term.bg, term.attrs), (ref.fg, ref.bg, ref.attrs)):
            assert np.array_equal(plane[r], ref_plane[r])
    # the text area shows the content through the display rules, nothing else
    lines = text.split("\n")
    width = cols - 4
    for i, line in enumerate(lines):
        want = f"{i + 1:>3} " + _expected_line(line)[:width]
        got = _display_cells(term, 1 + i).rstrip()
        assert got.startswith(want.rstrip()[:width - 1]), (i, got, want)
    for r in range(1 + len(lines), rows - 2):
        assert _display_cells(term, r).strip() == ""
    # no background colour or blinking/reverse cell in the text area except markers
    assert (term.bg[1:rows - 2] == 1).all()


def test_file_name_and_prompt_input_are_shown_safely() -> None:
    path = "a\x1b[2J\x1b]0;t\x07\u009b1m\rb.txt"
    ed, term = _render("body", path=path)
    assert term.screen.title == ""
    assert "a^[[2J^[]0;t^G\ufffd1m^Mb.txt" in term.screen.display[0]
    # type the same name into the open prompt: shown safely too
    term.feed(ed.press(b"\x0f"))
    for ch in path:
        term.feed(ed.press(b"\x1bv" + ch.encode()))
    term.snapshot()
    status = term.screen.display[22]
    assert status.startswith("Open file: a^[[2J^[]0;t^G\ufffd1m^Mb.txt")
    assert term.screen.title == "" and term.screen.margins is None
    assert term.screen.display[0] == _render("body", path=path)[1].screen.display[0]


def test_typed_escape_sequences_stay_text() -> None:
    """The planner types control characters with Alt-V: they must render as carets."""
    ed = Editor(10, 60, {})
    term = Terminal(10, 60)
    term.feed(ed.redraw())
    for ch in "\x1b[2J\x1b]0;x\x07\u009b5m\r":
        term.feed(ed.press(b"\x1bv" + ch.encode()))
    term.snapshot()
    assert term.screen.display[1].startswith("  1 ^[[2J^[]0;x^G\ufffd5m^M")
    assert term.screen.title == ""
    assert ed.text == "\x1b[2J\x1b]0;x\x07\u009b5m\r"


def test_long_lines_scroll_horizontally_with_markers() -> None:
    line = "".join(chr(ord("a") + i % 26) for i in range(300))
    ed, term = _render(line + "\nshort", rows=8, cols=40)
    assert term.screen.display[1].endswith(">")
    assert term.screen.display[1].startswith("  1 abc")
    for _ in range(100):
        term.feed(ed.press(b"\x1b[C"))
    term.snapshot()
    row = term.screen.display[1]
    assert row[4] == "<" and row.endswith(">")
    col = term.cursor[1]
    # the cell under the cursor shows the character at the cursor
    assert row[col] == line[100]
    term.feed(ed.press(b"\x1b[B"))
    term.snapshot()
    assert term.screen.display[1].startswith("  1 abc")  # left the line: back to its start
