"""Long lines: the layout work per key does not grow with the line's length, and what
is drawn equals a from-scratch redraw whatever the chunking (tiny chunks forced)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_editor_refmodel import CTRL_O, ENTER, edit_actions
from test_editor_render import _assert_same_screen

from sessionforge.replay import display, editor, longline
from sessionforge.replay.longline import LongLine
from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal

LEFT, RIGHT, BS, DEL, END = b"\x1b[D", b"\x1b[C", b"\x7f", b"\x1b[3~", b"\x1b[F"
ALT_V = b"\x1bv"


def _line(n: int, kind: str) -> str:
    piece = "value = items[i] + off  # x " if kind == "plain" else "val\tue = 日本[i] \x1b + off\x00 漢 "
    return (piece * (n // len(piece) + 1))[:n]


def _keys(kind: str) -> list[bytes]:
    """Typing, deleting and moving; tabs, wide and control characters in the mixed case."""
    typed = [b"a", b"b"] if kind == "plain" else [b"\t", "日".encode(), ALT_V, b"\x01", b"a"]
    return (typed + [LEFT, LEFT, BS, RIGHT, RIGHT, b"z", LEFT, DEL, RIGHT, BS]) * 6


def _work_per_key(n: int, kind: str, where: str) -> list[int]:
    ed = Editor(48, 160, {"f": _line(n, kind) + "\nshort\n"})
    for k in [CTRL_O, b"f", ENTER]:
        ed.press(k)
    if where == "end":
        ed.press(END)
    else:  # jump straight to the middle (walking there would take n / 2 keys)
        ed.cursor_col = ed._want = n // 2
        ed.press(RIGHT)
    ed.press(b"q")  # the first edit indexes the line (once); the keys below are the steady state
    out = []
    for k in _keys(kind):
        before = display.WORK[0]
        ed.press(k)
        out.append(display.WORK[0] - before)
    assert ed.cursor_line == 0
    if n >= ed._long:
        assert isinstance(ed.lines[0], LongLine)
    return out


@pytest.mark.parametrize("where", ["mid", "end"])
@pytest.mark.parametrize("kind", ["plain", "mixed"])
def test_layout_work_per_key_is_flat_in_line_length(kind: str, where: str) -> None:
    work = {n: _work_per_key(n, kind, where) for n in (100, 1_000, 10_000, 100_000)}
    # bounded by a constant: a few chunks and a few screen widths of code points a key
    bound = 8 * longline.CHUNK + 4 * 160
    for n, per_key in work.items():
        assert max(per_key) <= bound, (n, max(per_key), bound)
    # and no trend: the longest line costs what a 1,000-character one does
    assert sum(work[100_000]) <= 1.25 * sum(work[1_000]) + 200, {n: sum(w) for n, w in work.items()}
    assert sum(work[10_000]) <= 1.25 * sum(work[1_000]) + 200


@contextmanager
def tiny_chunks() -> Iterator[None]:
    """Lines of 2 * cols code points become LongLines, in chunks of 3."""
    old = editor.LONG, longline.CHUNK
    editor.LONG, longline.CHUNK = 8, 3
    try:
        yield
    finally:
        editor.LONG, longline.CHUNK = old


long_texts = st.lists(st.text(alphabet=st.sampled_from("ab \t\x1b日😀\u0301é" + "x" * 6), max_size=140),
                      min_size=1, max_size=6).map("\n".join)
moves = st.sampled_from([[END], [LEFT] * 9, [RIGHT] * 17, [b"\x1b[H"], [BS] * 3, [DEL] * 3, [ENTER]])


@settings(max_examples=40, deadline=None)
@given(text=long_texts, actions=st.lists(st.one_of(edit_actions, moves), max_size=30))
def test_long_lines_draw_like_a_redraw(text: str, actions: list[list[bytes]]) -> None:
    with tiny_chunks():
        _check_against_redraw(text, actions)


def _check_against_redraw(text: str, actions: list[list[bytes]]) -> None:
    rows, cols = 7, 24
    disk0 = {"a.txt": text}
    ed = Editor(rows, cols, dict(disk0))
    assert ed._long == 2 * cols
    term = Terminal(rows, cols)
    term.feed(ed.redraw())
    keys: list[bytes] = []
    for a in [[CTRL_O, *[c.encode() for c in "a.txt"], ENTER]] + actions:
        for k in a:
            term.feed(ed.press(k))
            keys.append(k)
        assert ed.text == "\n".join(map(str, ed.lines))
    _assert_same_screen(term, keys, rows, cols, disk0)
