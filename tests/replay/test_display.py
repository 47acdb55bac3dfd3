"""Display rules: every code point becomes safe cells pyte draws one-for-one."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from wcwidth import wcwidth

from sessionforge.replay import longline
from sessionforge.replay.display import (
    CONT, PLACEHOLDER, REPLACEMENT, T_MARK, T_SPECIAL, T_TEXT, advance, after, describe, glyph, lay,
    scroll_offset, window,
)
from sessionforge.replay.longline import LongLine


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
    line = "a\tb日\x1b"
    cells, styles = lay(line)
    assert cells == "a       b日" + CONT + "^["
    assert [advance(line[:i]) for i in range(len(line) + 1)] == [0, 1, 8, 9, 11, 13]
    assert styles[-2:] == T_SPECIAL * 2 and styles[0] == T_TEXT
    # a piece of a line laid out from its own column gives the same cells
    assert lay(line[2:], 8) == (cells[8:], styles[8:])


def _reference_cells(line: str) -> str:
    """The display rule one code point at a time (what lay computes with str.translate)."""
    out = ""
    for ch in line:
        out += " " * (8 - len(out) % 8) if ch == "\t" else glyph(ch)[0]
    return out


@settings(max_examples=200, deadline=None)
@given(seg=st.text(alphabet="ab\t日\x1b\u0301é", max_size=40), x0=st.integers(0, 30))
def test_describe_moves_the_column_like_a_layout(seg: str, x0: int) -> None:
    assert after(describe(seg), x0) == advance(seg, x0) == x0 + len(lay(seg, x0)[0])
    assert lay(seg)[0] == _reference_cells(seg)


def test_window_markers_and_cut_wide_glyphs() -> None:
    cells, styles = lay("日" * 10)  # 20 cells
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


@settings(max_examples=80, deadline=None)
@given(base=st.text(alphabet="ab日\x1b\u0301\t ", min_size=0, max_size=120),
       ops=st.lists(st.tuples(st.sampled_from(["ins", "del", "x", "cells", "split", "join", "slice"]),
                              st.integers(0, 10_000), st.sampled_from(["x", "日", "\x00", "\t", "\u0301"])),
                    max_size=40),
       chunk=st.sampled_from([1, 2, 3, 8]))
def test_long_line_matches_a_str(base: str, ops: list, chunk: int) -> None:
    """LongLine (chunks + column index) against a plain str, with tiny chunks."""
    old = longline.CHUNK
    longline.CHUNK = chunk
    try:
        line, ref = LongLine.of(base), base
        for op, pos, ch in ops:
            n = len(ref)
            if op == "ins":
                k = pos % (n + 1)
                line.insert(k, ch)
                ref = ref[:k] + ch + ref[k:]
            elif op == "del" and n:
                line.delete(pos % n)
                ref = ref[:pos % n] + ref[pos % n + 1:]
            elif op == "x":
                k = pos % (n + 1)
                assert line.x_at(k) == advance(ref[:k])
            elif op == "cells" and n:
                off = pos % (advance(ref) + 1)
                if pos % 2:
                    line.x_at(n)  # (what the editor does first; without it the chunk is found by growing)
                x0, cells, styles = line.cells_from(off, 7)
                full_c, full_s = lay(ref)
                assert x0 <= off and cells == full_c[x0:x0 + len(cells)] and styles == full_s[x0:x0 + len(styles)]
                assert x0 + len(cells) >= min(off + 7, len(full_c))
            elif op == "split":
                k = pos % (n + 1)
                left, right = line.split(k)
                assert (str(left), str(right)) == (ref[:k], ref[k:])
                line = LongLine.join(left, right) if pos % 2 else LongLine.join(str(left), right)
            elif op == "join":
                line = LongLine.join(line, ch * (pos % 5))
                ref += ch * (pos % 5)
            elif op == "slice":
                a, b = pos % (n + 1), (pos // 7) % (n + 1)
                assert line[a:b] == ref[a:b]
            assert str(line) == ref and len(line) == len(ref)
        assert line.x_at(len(ref)) == advance(ref)
    finally:
        longline.CHUNK = old
