"""render: PNG size and the exact colours at known cells (glyph, background, reverse, cursor)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from viewkit import PALETTE, run_cli

from sessionforge.formats import ATTR_REVERSE
from sessionforge.view.render import bundled_font_dir, load_font, palette_array, render_frame, sheet_indices

ROWS, COLS = 3, 6


def rgb(i: int) -> tuple[int, int, int]:
    v = PALETTE[i]
    return (v >> 16, (v >> 8) & 255, v & 255)


def cell(img: np.ndarray, font, r: int, c: int, width: int = 1) -> np.ndarray:
    return img[r * font.cell_h : (r + 1) * font.cell_h, c * font.cell_w : (c + width) * font.cell_w]


def frame():
    chars = np.full((ROWS, COLS), 32, np.uint32)
    fg = np.zeros((ROWS, COLS), np.uint8)
    bg = np.ones((ROWS, COLS), np.uint8)
    attrs = np.zeros((ROWS, COLS), np.uint8)
    chars[1, 2], fg[1, 2], bg[1, 2] = ord("H"), 2, 4  # red H on blue
    attrs[2, 0], fg[2, 0], bg[2, 0] = ATTR_REVERSE, 3, 1  # reverse space: a green block
    chars[0, 3], chars[0, 4], attrs[0, 3] = 0x4E2D, 0, 64  # a wide character
    return chars, fg, bg, attrs


@pytest.mark.parametrize("builtin", [False, True], ids=["dejavu", "bitmap"])
def test_pixels_at_known_cells(builtin):
    if not builtin and bundled_font_dir() is None:
        pytest.skip("no DejaVu Sans Mono shipped by an installed package")  # the bitmap case still runs
    font = load_font(14, builtin=builtin)
    chars, fg, bg, attrs = frame()
    img = np.asarray(render_frame(font, palette_array(PALETTE), chars, fg, bg, attrs, (0, 5, 1)))
    assert img.shape == (ROWS * font.cell_h, COLS * font.cell_w, 3)
    h = cell(img, font, 1, 2)
    assert tuple(h[0, 0]) == rgb(4)  # background at the cell's corner
    assert (h == rgb(2)).all(axis=-1).sum() >= 4  # solid glyph pixels in the foreground colour
    assert (cell(img, font, 2, 0) == rgb(3)).all()  # reverse video: the whole cell is fg
    assert (cell(img, font, 0, 5) == rgb(0)).all()  # cursor: inverted block in the fg colour
    assert (cell(img, font, 2, 5) == rgb(1)).all()  # an empty cell is pure background
    wide = cell(img, font, 0, 3, width=2)
    assert (wide == rgb(0)).all(axis=-1).any() and tuple(wide[0, 0]) == rgb(1)
    hidden = np.asarray(render_frame(font, palette_array(PALETTE), chars, fg, bg, attrs, (0, 5, 0)))
    assert (cell(hidden, font, 0, 5) == rgb(1)).all()  # hidden cursor is not drawn


def test_render_cli_frames_and_sheet(synth_shard, tmp_path, capsys):
    out = tmp_path / "png"
    code, err = run_cli(["render", synth_shard, "--session", "0", "--frames", "0,10,-1", "-o", out], capsys)
    assert code == 0, err
    files = sorted(p.name for p in out.glob("*.png"))
    assert files == ["synthetic.tss_0-000000.png", "synthetic.tss_0-000010.png", "synthetic.tss_0-000069.png"]
    font = load_font(14)
    with Image.open(out / files[1]) as im:
        assert im.size == (16 * font.cell_w, 6 * font.cell_h)
    code, err = run_cli(["render", synth_shard, "-s", "1", "--sheet", "5", "--scale", "1", "-o", out], capsys)
    assert code == 0, err
    with Image.open(out / "synthetic.tss_1-sheet.png") as sheet:
        w, h = sheet.size
    pad, label = 8, font.cell_h + 4
    assert (w, h) == (3 * (16 * font.cell_w + pad) + pad, 2 * (6 * font.cell_h + label + pad) + pad)
    code, err = run_cli(["render", synth_shard, "--frames", "999", "-o", out], capsys)
    assert code == 1 and err.startswith("error: ") and "out of range" in err


def test_sheet_indices_spread_over_session():
    assert sheet_indices(100, 5) == [0, 25, 50, 74, 99]
    assert sheet_indices(3, 10) == [0, 1, 2]
    assert sheet_indices(0, 4) == []
