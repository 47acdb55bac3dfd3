"""Display rules: every code point becomes safe cells pyte draws one-for-one."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from wcwidth import wcwidth

from sessionforge.replay.display import (
    CONT, PLACEHOLDER, REPLACEMENT, T_MARK, T_SPECIAL, T_TEXT, glyph, layout, scroll_offset,
    window,
)


def test_glyph_classes() -> None:
    assert glyph("a") == ("a", T_TEXT)
    assert glyph("\x1b") == ("^[", T_SPECIAL)
    assert glyph("\r") == ("^M", T_SPECIAL)
    assert glyph("\x00") == ("^@", T_SPECIAL)
    assert glyph("\x7f") == ("^?", T_SPECIAL)
    assert glyph("\u009b") == (REPLACEMENT, T_SPECIAL)  # 8-bit CSI
    assert glyph("\ue000") == (REPLACEMENT, T_SPECIAL)  # private use
    assert glyph("\ud800") == (REPLACEMENT, T_SPECIAL)  # lone surrogate
    assert glyph("\u0378") == (REPLACEMENT, T_SPECIAL)  # unassigned
    assert glyph("\u0301") == (PLACEHOLDER, T_SPECIAL)  # combining acute
    assert glyph("\u200d") == (PLACEHOLDER, T_SPECIAL)  # zero-width joiner
    assert glyph("日") == ("日" + CONT, T_TEXT)
    assert glyph("😀") == ("😀" + CONT, T_TEXT)


@settings(max_examples=300, deadline=None)
@given(st.characters())
def test_every_glyph_is_drawable_and_safe(ch: str) -> None:
    cells, style = glyph(ch)
    drawn = cells.replace(CONT, "")
    for g in drawn:
        o = ord(g)
        assert o >= 0x20 and not 0x7F <= o < 0xA0  # never a C0/C1 control or DEL
        assert wcwidth(g) in (1, 2)
    assert len(cells) == sum(wcwidth(g) for g in drawn)
    # pyte draws it into exactly those cells and nothing else happens
    screen = pyte.Screen(10, 2)
    pyte.ByteStream(screen).feed(drawn.encode("utf-8"))
    assert screen.cursor.x == len(cells) and screen.cursor.y == 0
    assert screen.title == ""


def test_layout_tabs_and_positions() -> None:
    cells, styles, xs = layout("a\tb日\x1b")
    assert cells == "a       b日" + CONT + "^["
    assert list(xs) == [0, 1, 8, 9, 11, 13]
    assert styles[-2:] == T_SPECIAL * 2 and styles[0] == T_TEXT


def test_window_markers_and_cut_wide_glyphs() -> None:
    cells, styles, _ = layout("日" * 10)  # 20 cells
    c, s = window(cells, styles, 0, 9)
    assert c == "日" + CONT + "日" + CONT + "日" + CONT + "日" + CONT + ">"
    assert s[-1] == T_MARK
    c, s = window(cells, styles, 3, 9)  # starts in the middle of a glyph
    assert c[0] == "<" and c[1] != CONT
    assert CONT not in (c[1], c[-1])
    assert all(c[i] != CONT or c[i - 1] != CONT for i in range(1, len(c)))
    c, s = window("abc", T_TEXT * 3, 0, 6)
    assert c == "abc   " and s == T_TEXT * 6


def test_scroll_offset_keeps_cursor_off_markers() -> None:
    width = 20
    for x in range(200):
        off = scroll_offset(x, width)
        col = x - off
        assert (off == 0 and 0 <= col <= width - 2) or (off > 0 and 1 <= col <= width - 2)


@settings(max_examples=60, deadline=None)
@given(base=st.sampled_from(["ab日\x1b\u0301 ", "ab日\x1b\u0301\t "]).flatmap(
           lambda alphabet: st.text(alphabet=alphabet, min_size=600, max_size=900)),
       edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["x", "日", "\x00", "\t", None])),
                      max_size=12))
def test_derived_layouts_equal_fresh_layouts(base: str, edits: list) -> None:
    from sessionforge.replay import display

    line = base
    display.layout(line)
    for pos, ch in edits:
        k = pos % (len(line) + (1 if ch is not None else 0)) if line or ch else 0
        if ch is None and not line:
            continue
        new = line[:k] + ch + line[k:] if ch is not None else line[:k] + line[k + 1:]
        display._LAYOUTS.pop(new, None)
        display.derive_layout(new, line, k, ch)
        if ch != "\t" and "\t" not in new[k:] and not display.is_plain(new):
            assert new in display._LAYOUTS  # derived, not recomputed
        got = display.layout(new)
        want = display._layout(new)
        assert got[0] == want[0] and got[1] == want[1] and list(got[2]) == list(want[2])
        line = new
