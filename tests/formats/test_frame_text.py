"""frame_text: the one way a frame becomes text (inspect, replay --show, export --format text)."""

from __future__ import annotations

import numpy as np

from sessionforge.formats import ATTR_BOLD, ATTR_WIDE, Frames, frame_text

FFFD = "\ufffd"


def test_one_character_per_cell_and_wide_right_halves_dropped():
    chars = [[0x4E2D, 0, ord("a"), 0x1F600, 0, 0, ord("b"), 32, 32]]
    attrs = [[ATTR_WIDE, 0, 0, ATTR_WIDE | ATTR_BOLD, 0, 0, 0, 0, 0]]
    # the second 0 after the emoji is an empty cell (a space), not another right half
    assert frame_text(chars, attrs) == ["中a😀 b"]
    assert frame_text(chars, attrs, rstrip=False) == ["中a😀 b  "]


def test_wide_marks_and_glyph_widths_both_make_right_halves():
    # the format's mark decides (even on a narrow glyph); an unmarked two-column glyph too
    assert frame_text([[ord("A"), 0, ord("x")]], [[ATTR_WIDE, 0, 0]]) == ["Ax"]
    assert frame_text([[0x4E2D, 0, ord("x")]], [[0, 0, 0]]) == ["中x"]
    assert frame_text([[0x4E2D, 0, ord("x")]]) == ["中x"]
    assert frame_text([[ord("A"), 0, ord("x")]]) == ["A x"]  # a narrow glyph: the 0 is an empty cell


def test_unprintable_cells_become_one_replacement_character():
    cps = [0x1B, 0x07, 0x7F, 0x9B, 0xD800, 0x110000, 0x301, 0]
    line = frame_text(np.array([cps], np.int64))[0]
    assert line == FFFD * 7  # ... and the empty cell at the end is stripped
    assert frame_text(np.array([cps], np.int64), rstrip=False)[0] == FFFD * 7 + " "


def test_frames_text_is_frame_text():
    f = Frames.empty(2, 2, 4)
    f.chars[1] = [[0x4E2D, 0, 65, 32], [0x1B, 66, 32, 32]]
    f.attrs[1, 0, 0] = ATTR_WIDE
    assert f.text(1) == frame_text(f.chars[1], f.attrs[1]) == ["中A", FFFD + "B"]
    assert f.text(1, rstrip=False) == ["中A ", FFFD + "B  "]
