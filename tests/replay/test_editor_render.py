"""Rendering: incremental updates leave pyte exactly where a from-scratch redraw would."""

from __future__ import annotations

import numpy as np
from test_editor_refmodel import CTRL_O, ENTER, edit_actions, texts
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal, full_read


def _screen_state(term: Terminal) -> tuple:
    s = term.screen
    planes = full_read(s, term.rows, term.cols)
    return planes, (s.cursor.y, s.cursor.x, s.cursor.hidden)


def _assert_same_screen(term: Terminal, keys: list[bytes], rows: int, cols: int, disk0: dict) -> None:
    """Replay ``keys`` into a fresh editor, redraw it into a fresh terminal, compare."""
    fresh = Editor(rows, cols, dict(disk0))
    for k in keys:
        fresh.press(k)
    ref = Terminal(rows, cols)
    ref.feed(fresh.redraw())
    (planes, cur), (ref_planes, ref_cur) = _screen_state(term), _screen_state(ref)
    if not all(np.array_equal(a, b) for a, b in zip(planes, ref_planes)):
        got, want = term.screen.display, ref.screen.display
        diff = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
        raise AssertionError(f"screen differs from a redraw after {keys[-5:]}: {diff[:4]}")
    assert cur == ref_cur


@settings(max_examples=120, deadline=None)
@given(text=texts, actions=st.lists(edit_actions, max_size=40),
       size=st.sampled_from([(6, 24), (9, 30), (12, 41)]), check_every=st.integers(3, 12))
def test_incremental_screen_equals_redraw(text: str, actions: list[list[bytes]],
                                          size: tuple[int, int], check_every: int) -> None:
    rows, cols = size
    disk0 = {"a.txt": text, "b/c.py": "\n".join(f"line {i}" for i in range(40)),
             "long": "x" * 70 + "日" * 30 + "\n" + "\t" * 9 + "y"}
    ed = Editor(rows, cols, dict(disk0))
    term = Terminal(rows, cols)
    term.feed(ed.redraw())
    keys: list[bytes] = []
    for a in [[CTRL_O, *[c.encode() for c in "a.txt"], ENTER]] + actions:
        for k in a:
            term.feed(ed.press(k))
            keys.append(k)
        if len(keys) % check_every == 0:
            _assert_same_screen(term, keys, rows, cols, disk0)
    _assert_same_screen(term, keys, rows, cols, disk0)
    # the cursor is visible and where the editor says
    term.snapshot()
    assert term.cursor[2]
    if ed.prompt is None:
        assert term.cursor[0] == 1 + ed.cursor_line - ed.top_line


@settings(max_examples=40, deadline=None)
@given(keys=st.lists(st.sampled_from([b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[5~",
                                      b"\x1b[6~", b"\x1b[F", b"\x1b[H", b"\r", b"\x0b", b"\x7f",
                                      b"z", b"\x1b[3~"]), max_size=120))
def test_long_file_navigation_and_line_edits(keys: list[bytes]) -> None:
    """Scrolling, renumbering and cuts in a file longer than the screen."""
    rows, cols = 10, 32
    disk0 = {"f": "\n".join(f"{i} " + "ab" * (i % 20) for i in range(120))}
    ed = Editor(rows, cols, dict(disk0))
    term = Terminal(rows, cols)
    term.feed(ed.redraw())
    opened = [CTRL_O, b"f", ENTER]
    for k in opened + keys:
        term.feed(ed.press(k))
    _assert_same_screen(term, opened + keys, rows, cols, disk0)


def test_typing_in_the_middle_costs_few_bytes() -> None:
    ed = Editor(48, 160, {"f": "def function_name(argument, other):\n    return 1\n"})
    for k in [CTRL_O, b"f", ENTER]:
        ed.press(k)
    for _ in range(10):
        ed.press(b"\x1b[C")
    ed.press(b"Y")  # the first edit also shows "Modified" in the title bar
    out = ed.press(b"X")
    # ICH + the char + the column digits of the status line, not a whole-line redraw
    assert len(out) < 30, out
    assert b"function_name" not in out
    out = ed.press(b"\x1b[C")
    assert len(out) < 20, out


def test_redraw_shows_bars_and_gutter() -> None:
    ed = Editor(8, 40, {"src/x.py": "print(1)\n"})
    for k in [CTRL_O, *[c.encode() for c in "src/x.py"], ENTER]:
        ed.press(k)
    term = Terminal(8, 40)
    term.feed(ed.redraw())
    d = term.screen.display
    assert "src/x.py" in d[0]
    assert d[1].startswith("  1 print(1)")
    assert d[2].startswith("  2 ")
    assert d[3].strip() == ""  # past the end of the buffer: no gutter number
    assert "line 1" in d[6] and "col 1" in d[6]
    assert "^G" in d[7]
    term.snapshot()
    assert term.attrs[0, 0] & 16  # title bar in reverse video
    assert term.fg[1, 2] == 10  # gutter in bright black
    assert term.cursor == (1, 4, True)


def test_default_size_replay_like_session() -> None:
    """48x160, a seeded mix of the keys a replay sends; screen and planes checked."""
    import random

    rng = random.Random(7)
    words = ["value", "self.items", "return", "if x:", "for i in range(3):", "# note", "\t", "日本"]
    text = "\n".join(" " * rng.randint(0, 8) + " ".join(rng.sample(words, 3)) for _ in range(300))
    disk0 = {"f.py": text}
    keys: list[bytes] = [CTRL_O, b"f", b".", b"p", b"y", ENTER]
    while len(keys) < 700:
        keys += [b"\x07"] + [bytes([d]) for d in str(rng.randint(1, 300)).encode()] + [ENTER]
        keys += [b"\x1b[B"] * rng.randint(0, 50) + [b"\x1b[F"] + [b"\x0b"] * rng.randint(0, 3)
        for ch in " ".join(rng.sample(words, 4)) + "\n":
            keys.append(ENTER if ch == "\n" else ch.encode())
        keys += [b"\x7f"] * rng.randint(0, 4) + [b"\x1b[3~", b"\x1b[6~", b"\x1b[D", b"\x1b[H", b"\x13"]
    ed = Editor(48, 160, dict(disk0))
    term = Terminal(48, 160)
    term.feed(ed.redraw())
    term.snapshot()
    for i, k in enumerate(keys):
        term.feed(ed.press(k))
        term.snapshot()
        if i % 175 == 174:
            for got, want in zip((term.chars, term.fg, term.bg, term.attrs), full_read(term.screen, 48, 160)):
                assert np.array_equal(got, want)
            _assert_same_screen(term, keys[:i + 1], 48, 160, disk0)
    _assert_same_screen(term, keys, 48, 160, disk0)


@settings(max_examples=200, deadline=None)
@given(a=st.text(alphabet="ab", max_size=40), b=st.text(alphabet="ab", max_size=40))
def test_common_prefix_and_suffix(a: str, b: str) -> None:
    from sessionforge.replay.painter import common_prefix, common_suffix

    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    p = common_prefix(a, b)
    s = common_suffix(a, b)
    assert a[:p] == b[:p] and (p == n or a[p] != b[p])
    assert a[n - s:] == b[n - s:] and (s == n or a[n - s - 1] != b[n - s - 1])
