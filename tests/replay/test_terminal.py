"""Terminal change capture: after any byte feed the planes equal a full read of pyte."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.formats import ATTR_BOLD, ATTR_REVERSE, ATTR_WIDE
from sessionforge.replay.terminal import PALETTE, Terminal, full_read

ROWS, COLS = 8, 20

_num = st.integers(0, 25).map(lambda n: str(n) if n else "")
_text = st.text(alphabet=st.sampled_from("abc XYZ日😀\u0301é\u200d"), min_size=1, max_size=30)


def _csi(final: str, nparams: int = 1) -> st.SearchStrategy[str]:
    return st.lists(_num, min_size=0, max_size=nparams).map(lambda ps: "\x1b[" + ";".join(ps) + final)


tokens = st.one_of(
    _text, _text, _text,
    _csi("H", 2), _csi("A"), _csi("B"), _csi("C"), _csi("D"), _csi("G"), _csi("d"),
    _csi("@"), _csi("P"), _csi("X"), _csi("K"), _csi("J"), _csi("L"), _csi("M"), _csi("r", 2),
    st.sampled_from(["\r", "\n", "\b", "\t", "\x1bM", "\x1bD", "\x1bE", "\x1b7", "\x1b8",
                     "\x1b#8", "\x1bc", "\x1b[?7l", "\x1b[?7h", "\x1b[4h", "\x1b[4l",
                     "\x1b[?5h", "\x1b[?5l", "\x1b[?25l", "\x1b[?25h", "\x1b[?3h",
                     "\x1b]0;title\x07", "\x9b2J", "\x1b[0m", "\x1b[1;7m",
                     "\x1b[31;44m", "\x1b[92m", "\x1b[38;5;200m", "\x1b[48;2;10;20;30m",
                     "\x1b[3;4;5;9m", "\x1b[22;27m"]),
)


def _planes(t: Terminal) -> tuple[np.ndarray, ...]:
    return t.chars.copy(), t.fg.copy(), t.bg.copy(), t.attrs.copy()


@settings(max_examples=150, deadline=None)
@given(feeds=st.lists(st.lists(tokens, min_size=1, max_size=8), min_size=1, max_size=25))
def test_planes_equal_full_read_after_random_feeds(feeds: list[list[str]]) -> None:
    t = Terminal(ROWS, COLS)
    t.snapshot()
    for chunk in feeds:
        before = _planes(t)
        t.feed("".join(chunk).encode("utf-8", "surrogatepass"))
        spans = t.snapshot()
        ref = full_read(t.screen, ROWS, COLS)
        for got, want in zip(_planes(t), ref):
            np.testing.assert_array_equal(got, want)
        # every changed cell lies inside a reported span
        changed = np.zeros((ROWS, COLS), bool)
        for old, new in zip(before, _planes(t)):
            changed |= old != new
        covered = np.zeros((ROWS, COLS), bool)
        for r, a, b in spans:
            assert 0 <= r < ROWS and 0 <= a < b <= COLS
            covered[r, a:b] = True
        assert not (changed & ~covered).any()
        c = t.screen.cursor
        assert t.cursor == (c.y, min(c.x, COLS - 1), not c.hidden)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_never_break_the_planes(data: bytes) -> None:
    t = Terminal(ROWS, COLS)
    t.feed(data)
    t.snapshot()
    for got, want in zip(_planes(t), full_read(t.screen, ROWS, COLS)):
        np.testing.assert_array_equal(got, want)


def test_wide_chars_colours_and_attributes() -> None:
    t = Terminal(4, 10)
    t.snapshot()
    t.feed("\x1b[1;31;44m日a\x1b[0m\x1b[7mb".encode())
    spans = t.snapshot()
    assert t.chars[0, 0] == ord("日") and t.attrs[0, 0] & ATTR_WIDE
    assert t.chars[0, 1] == 0  # right half of the wide char
    assert t.chars[0, 2] == ord("a") and t.attrs[0, 2] == ATTR_BOLD
    assert PALETTE[t.fg[0, 2]] == 0xCD0000 and PALETTE[t.bg[0, 2]] == 0x0000EE
    assert t.attrs[0, 3] == ATTR_REVERSE and t.fg[0, 3] == 0 and t.bg[0, 3] == 1
    assert t.cursor == (0, 4, True)
    assert all(r == 0 for r, _, _ in spans)
    t.feed(b"\x1b[?25l\x1b[38;2;250;0;0mZ")
    t.snapshot()
    assert PALETTE[t.fg[0, 4]] == 0xFF0000  # truecolour maps to the nearest palette entry
    assert t.cursor == (0, 5, False)


def test_first_snapshot_reports_every_row() -> None:
    t = Terminal(3, 5)
    assert t.snapshot() == [(0, 0, 5), (1, 0, 5), (2, 0, 5)]
    assert t.snapshot() == []
    assert (t.chars == 32).all() and (t.fg == 0).all() and (t.bg == 1).all()


def test_typing_reads_only_a_small_span() -> None:
    t = Terminal(48, 160)
    t.snapshot()
    t.feed(b"\x1b[10;50Hx\x1b[47;30H12")
    spans = t.snapshot()
    assert {r for r, _, _ in spans} == {9, 46}
    assert all(b - a <= 6 for _, a, b in spans)


# tokens on which stock pyte is well defined (it raises on CSI 3 K / CSI 4 J, and the
# Terminal ignores DECCOLM on purpose): for comparing the Terminal's pyte with stock pyte
_stock_tokens = st.one_of(
    tokens.filter(lambda tok: not (tok.endswith(("K", "J")) and tok[2:-1] not in ("", "0", "1", "2", "3"))
                  and tok != "\x1b[?3h" and not (tok.endswith("K") and tok[2:-1] == "3")),
    st.sampled_from(["\x1b[3", "\x1b", "8;", "\x1b[?", "25h", "\x1b]", "2;x\x07", "\x1b[1;2", "0H"]),
)


def _feed_error(feed, data: bytes) -> type | None:
    try:
        feed(data)
    except Exception as e:  # noqa: BLE001 - comparing what each stream raises
        return type(e)
    return None


def _pyte_state(screen) -> tuple:
    c = screen.cursor
    return ((c.x, c.y, c.hidden, c.attrs), screen.mode, screen.margins, screen.title,
            screen.icon_name, len(screen.savepoints), screen.tabstops, screen.charset)


@settings(max_examples=100, deadline=None)
@given(feeds=st.lists(st.lists(_stock_tokens, min_size=1, max_size=8), min_size=1, max_size=20))
def test_terminal_screen_is_stock_pyte(feeds: list[list[str]]) -> None:
    """The fast stream/draw paths change speed only: same screen as stock pyte."""
    import pyte

    t = Terminal(ROWS, COLS)
    ref = pyte.Screen(COLS, ROWS)
    ref_stream = pyte.ByteStream(ref)
    for chunk in feeds:
        data = "".join(chunk).encode("utf-8")
        # stock pyte raises on some private CSI forms (e.g. "CSI ? X"): so must we
        assert _feed_error(t.feed, data) == _feed_error(ref_stream.feed, data)
        assert _pyte_state(t.screen) == _pyte_state(ref)
    t.snapshot()
    for got, want in zip(_planes(t), full_read(ref, ROWS, COLS)):
        np.testing.assert_array_equal(got, want)


def test_stock_pyte_paths_when_fast_paths_are_off(monkeypatch) -> None:
    """With another pyte version the speed-ups switch off; tracking stays exact."""
    import pyte

    from sessionforge.replay import tracking
    from sessionforge.replay.editor import Editor

    monkeypatch.setattr(tracking, "PYTE_FAST", False)
    ed = Editor(12, 40, {"f": "\n".join(f"line {i}\tx日" for i in range(60))})
    t = Terminal(12, 40)
    assert type(t.stream) is pyte.ByteStream
    ref = pyte.Screen(40, 12)
    ref_stream = pyte.ByteStream(ref)
    keys = [b"\x0f", b"f", b"\r", *[b"\x1b[B"] * 14, b"a", b"\x7f", b"\r", b"\x0b",
            b"\x1b[F", b"z", b"\x1b[5~", b"\x1b[C", b"\x1b[3~"]
    outs = [ed.redraw()] + [ed.press(k) for k in keys]
    for out in outs:
        t.feed(out)
        ref_stream.feed(out)
        t.snapshot()
        for got, want in zip(_planes(t), full_read(ref, 12, 40)):
            np.testing.assert_array_equal(got, want)
