"""Any bytes into the live editor (what a model typing into it may send).

For random byte streams, random keymap keys mixed with random bytes, and prompts fed any
content: no exception, the editor's invariants hold after every press, and a *stock*
pyte screen fed the editor's output shows exactly what the editor's own screen model
(the Painter) says it drew, cell by cell, glyph and attributes, with the cursor where
the editor put it, no title or icon name, the modes a redraw sets and no scroll region:
nothing typed, opened or named reaches the terminal as an escape sequence. At the end
of each case a from-scratch redraw of the same state gives the same screen.
"""

from __future__ import annotations

import copy

import pyte
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionforge.replay.display import CONT, T_GUTTER, T_LABEL, T_MARK, T_SPECIAL, T_TEXT, scroll_offset
from sessionforge.replay.editor import Editor
from sessionforge.replay.longline import LongLine

SIZES = [(4, 24), (7, 30), (12, 41)]
LONG = "".join("ab日\t\x1b é\u0301"[i % 8] for i in range(700))  # held as a LongLine (>= 512)
DISK = {
    "a": "one\ttwo\n日本\x1b[2J\x1b]0;pwned\x07\n" + LONG + "\nlast",
    "b/c": "x\n" * 40,
    "n": "\u009b31m\r\n\x00\x7f\ue000\U0010fffd\ufeff" * 3,
}
# (fg, bold, reverse) of each style id, as stock pyte reads the editor's SGR
STYLE = {T_TEXT: ("default", False, False), T_SPECIAL: ("magenta", False, False),
         T_MARK: ("default", False, True), T_GUTTER: ("brightblack", False, False),
         T_LABEL: ("default", True, False)}

KEYMAP = [b"\r", b"\t", b"\x7f", b"\x1b[3~", b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F",
          b"\x1b[5~", b"\x1b[6~", b"\x07", b"\x0f", b"\x13", b"\x0b", b"\x1bv", b"\x1br", b"\x1bd", b"\x03"]
OTHER = [b"x", b" ", "日".encode(), "\u0301".encode(), "😀".encode(), b"\n", b"\x1b", b"\x00", b"\x1b[Z",
         b"\x1b[2J", b"\x1b]0;t\x07", b"\x1bOA", b"\x1b[1;5C", b"\x1b[?1049h", b"\x1bc", b"\xc2\x9b", b"\xe6\x97",
         b"\xff", b"9" * 30, b"a", b"b/c", b"\x1bv\x1b"]
keys = st.sampled_from(KEYMAP + OTHER)
random_bytes = st.binary(max_size=8)
mixed_press = st.one_of(keys, random_bytes, st.lists(st.one_of(keys, random_bytes), min_size=2, max_size=4)
                        .map(b"".join))
prompt_runs = st.tuples(st.sampled_from([b"\x07", b"\x0f", b"\x1br"]), st.lists(st.one_of(keys, random_bytes),
                        max_size=12), st.sampled_from([b"\r", b"\x03", b""])) \
    .map(lambda t: [t[0], *t[1], t[2]])


def _fresh_pyte(rows: int, cols: int, data: bytes) -> tuple[pyte.Screen, pyte.ByteStream]:
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(data)
    return screen, stream


_MODES: dict[tuple[int, int], set] = {}


def _redraw_modes(rows: int, cols: int) -> set:
    """The modes a redraw leaves a stock pyte screen in (autowrap off, cursor visible)."""
    if (rows, cols) not in _MODES:
        _MODES[rows, cols] = set(_fresh_pyte(rows, cols, Editor(rows, cols).redraw())[0].mode)
    return _MODES[rows, cols]


def _check_invariants(ed: Editor) -> None:
    lines = ed.lines
    assert lines and all(isinstance(line, (str, LongLine)) and "\n" not in str(line) for line in lines)
    assert ed.text == "\n".join(map(str, lines)) and ed.line_count == len(lines)
    cl, cc = ed.cursor_line, ed.cursor_col
    assert 0 <= cl < len(lines) and 0 <= cc <= len(lines[cl])
    assert 0 <= ed.top_line <= cl < ed.top_line + ed.text_rows
    assert ed._want >= 0
    assert ed.prompt in (None, "goto", "open", "rename")
    if ed.prompt == "goto":
        assert all("0" <= ch <= "9" for ch in ed._input)
    # the horizontal scroll is the one the cursor's cell asks for
    assert ed._hline == cl and ed._hoff == scroll_offset(ed._cell_x(cl, cc), ed._width)


def _check_screen(ed: Editor, screen: pyte.Screen) -> None:
    """Stock pyte shows what the Painter's model says was drawn, and nothing else happened."""
    p = ed._p
    for r in range(ed.rows):
        cells, styles, row = p.cells[r], p.styles[r], screen.buffer[r]
        for c in range(ed.cols):
            ch, want = row[c], cells[c]
            fg, bold, reverse = STYLE[styles[c]]
            assert ch.data == ("" if want == CONT else want), (r, c, ch, want)
            assert (ch.fg, ch.bg, ch.bold, ch.reverse) == (fg, "default", bold, reverse), (r, c, ch)
            assert not (ch.italics or ch.underscore or ch.strikethrough or ch.blink), (r, c, ch)
    if ed.prompt is None:
        cursor = (1 + ed.cursor_line - ed.top_line, ed._gw + ed._cell_x(ed.cursor_line, ed.cursor_col) - ed._hoff)
    else:
        cursor = (ed.rows - 2, ed._prompt_x)
    assert (p.cy, p.cx) == cursor
    assert (screen.cursor.y, screen.cursor.x, screen.cursor.hidden) == (*cursor, False)
    assert screen.title == "" and screen.icon_name == ""
    assert set(screen.mode) == _redraw_modes(ed.rows, ed.cols)
    assert screen.margins is None and screen.charset == 0


def _run(size: tuple[int, int], presses: list[bytes]) -> None:
    rows, cols = size
    ed = Editor(rows, cols, dict(DISK))
    screen, stream = _fresh_pyte(rows, cols, ed.redraw())
    for data in [b"\x0fa\r", *presses]:
        stream.feed(ed.press(data))
        _check_invariants(ed)
        _check_screen(ed, screen)
    # incremental drawing ends where a redraw of the same state does
    again = copy.deepcopy(ed)
    ref, _ = _fresh_pyte(rows, cols, again.redraw())
    assert screen.display == ref.display
    assert all(screen.buffer[r][c] == ref.buffer[r][c] for r in range(rows) for c in range(cols))


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(FUZZ, max_examples=700)
@given(size=st.sampled_from(SIZES), presses=st.lists(random_bytes, max_size=25))
def test_random_byte_streams(size: tuple[int, int], presses: list[bytes]) -> None:
    _run(size, presses)


@settings(FUZZ, max_examples=700)
@given(size=st.sampled_from(SIZES), presses=st.lists(mixed_press, max_size=25))
def test_keymap_keys_mixed_with_random_bytes(size: tuple[int, int], presses: list[bytes]) -> None:
    _run(size, presses)


@settings(FUZZ, max_examples=600)
@given(size=st.sampled_from(SIZES), runs=st.lists(prompt_runs, max_size=4), between=st.lists(keys, max_size=4))
def test_prompts_with_any_content(size: tuple[int, int], runs: list[list[bytes]], between: list[bytes]) -> None:
    """Go-to, open and rename prompts fed any content, then Enter or Ctrl-C (or left open);
    opens of files that do not exist, saves and renames of whatever buffer results."""
    presses: list[bytes] = []
    for run in runs:
        presses += run + between + [b"\x13"]
    _run(size, presses)
