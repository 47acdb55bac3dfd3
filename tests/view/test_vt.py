"""ScreenEncoder: feeding its output to a fresh pyte screen reproduces every frame."""

from __future__ import annotations

import re

import numpy as np
import pyte
from hypothesis import given, settings
from hypothesis import strategies as st
from viewkit import PALETTE, snapshot, synthetic_frames

from sessionforge.view.vt import ScreenEncoder

_HEX = {f"{rgb:06x}": i for i, rgb in enumerate(PALETTE)}
_OUR_SEQUENCES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _replay(frames, rows, cols):
    enc = ScreenEncoder(rows, cols, PALETTE)
    screen = pyte.Screen(cols, rows)
    stream = pyte.Stream(screen)
    for k, frame in enumerate(frames):
        stream.feed(enc.encode(*frame[:5]))
        got = snapshot(screen, lambda c, d: _HEX.get(c, 255))
        for name, want, have in zip(("chars", "fg", "bg", "attrs", "cursor"), frame[:5], got):
            assert np.array_equal(want, have), f"frame {k}: {name} differs\n{want}\n{have}"


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(2, 6), cols=st.integers(3, 14), seed=st.integers(0, 2**31))
def test_encoder_reproduces_pyte_frames(rows, cols, seed):
    _replay(synthetic_frames(rows, cols, 25, seed), rows, cols)


def test_unchanged_frame_costs_nothing_and_one_cell_costs_little():
    rows, cols = 4, 10
    chars = np.full((rows, cols), ord("x"), np.uint32)
    fg, bg, attrs = (np.full((rows, cols), v, np.uint8) for v in (2, 1, 0))
    enc = ScreenEncoder(rows, cols, PALETTE)
    assert len(enc.encode(chars, fg, bg, attrs, (0, 0, 1))) >= rows * cols  # full redraw first
    assert enc.encode(chars, fg, bg, attrs, (0, 0, 1)) == ""
    chars[2, 3] = ord("Q")
    out = enc.encode(chars, fg, bg, attrs, (0, 0, 1))
    assert out == "\x1b[3;4HQ\x1b[1;1H", repr(out)  # move, one char, cursor back


def test_hostile_code_points_never_reach_the_terminal():
    rows, cols = 2, 8
    chars = np.full((rows, cols), 32, np.uint32)
    hostile = [0x1B, 0x9B, 0x07, 0x7F, 0x200B, 0xD800, 0x110000, 0x0301]
    chars[0, : len(hostile)] = hostile
    zeros = np.zeros((rows, cols), np.uint8)
    out = ScreenEncoder(rows, cols, PALETTE).encode(chars, zeros, zeros + 1, zeros, (1, 0, 1))
    rest = _OUR_SEQUENCES.sub("", out)
    assert not [c for c in rest if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F], repr(rest)
    screen = pyte.Screen(cols, rows)
    pyte.Stream(screen).feed(out)
    assert [screen.buffer[0][c].data for c in range(len(hostile))] == ["\ufffd"] * len(hostile)
    assert (screen.cursor.y, screen.cursor.x) == (1, 0)


def test_view_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, sessionforge.view.player, sessionforge.view.render, sessionforge.view.export, "
            "sessionforge.commands.play, sessionforge.commands.export, sessionforge.commands.render; "
            "sys.exit(int(any(m.split('.')[0] in ('torch', 'triton') for m in sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_one_glyph_rule_for_text_terminal_and_png():
    """``formats.cell_glyph`` is the only rule: frame_text, the terminal encoder and the renderer agree."""
    from sessionforge import formats
    from sessionforge.formats import cell_glyph, frame_text
    from sessionforge.view import render, vt
    from sessionforge.view.render import load_font

    assert not hasattr(vt, "safe_glyph") and vt.cell_glyph is formats.cell_glyph and render.cell_glyph is formats.cell_glyph
    font = load_font(14, builtin=True)
    for cp in (0x41, 0x20, 0x1B, 0x9B, 0x7F, 0x200B, 0x0301, 0xD800, 0x110000, 0xE9, 0x4E2D, 0x1F600):
        text, width = cell_glyph(cp)
        chars = np.full((1, 4), 32, np.uint32)
        chars[0, 0] = cp
        zeros = np.zeros((1, 4), np.uint8)
        screen = pyte.Screen(4, 1)
        pyte.Stream(screen).feed(ScreenEncoder(1, 4, PALETTE).encode(chars, zeros, zeros + 1, zeros, (0, 3, 1)))
        assert screen.buffer[0][0].data == text, hex(cp)          # what the terminal shows
        assert frame_text(chars, rstrip=False)[0][0] == text, hex(cp)   # what inspect/export text show
        mask, cells = font.glyph(cp, 0)                          # what the PNG draws
        assert cells == width
        assert np.array_equal(mask, font.glyph(ord(text), 0)[0]), hex(cp)
