"""Render stored frames to images: one PNG per frame, or a labelled contact sheet.

Every cell is a fixed ``cell_w`` x ``cell_h`` box, and each glyph is drawn into its
own box (twice as wide for a double-width character), so a font's advance widths
can never shift the grid. Colours come from the session palette; reverse video
swaps them; the cursor is drawn as an inverted block; bold, italic, underline and
strike-through are shown when the font allows.

Font: DejaVu Sans Mono when an installed package ships it (matplotlib does), else a
TTF given with ``font_path``, else pillow's built-in fixed-cell bitmap font (Latin-1
only; other characters are drawn as ``?``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sessionforge.formats import ATTR_BOLD, ATTR_ITALIC, ATTR_REVERSE, ATTR_STRIKE, ATTR_UNDERLINE, cell_glyph
from sessionforge.view.frame_access import ViewError

_VARIANTS = {0: "DejaVuSansMono.ttf", 1: "DejaVuSansMono-Bold.ttf", 2: "DejaVuSansMono-Oblique.ttf",
             3: "DejaVuSansMono-BoldOblique.ttf"}


def bundled_font_dir() -> Path | None:
    """Folder of DejaVu Sans Mono TTFs shipped by an installed package, if any."""
    spec = importlib.util.find_spec("matplotlib")  # located, not imported: importing is slow
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
    return d if (d / _VARIANTS[0]).is_file() else None


@dataclass
class CellFont:
    """A font plus the fixed cell size every glyph is drawn into."""

    fonts: dict[int, object]  # style key (1 = bold, 2 = italic) -> PIL font
    cell_w: int
    cell_h: int
    latin1_only: bool  # pillow's bitmap font cannot draw beyond U+00FF
    _cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    def glyph(self, code: int, style: int) -> tuple[np.ndarray, int]:
        """Alpha mask (cell_h, width * cell_w) uint16 in 0..255 and the cell width (1 or 2)."""
        key = (code, style)
        hit = self._cache.get(key)
        if hit is not None:
            return hit, hit.shape[1] // self.cell_w
        text, width = cell_glyph(code)  # the same rule as the terminal views
        if self.latin1_only and ord(text) > 0xFF:
            text = "?"
        font = self.fonts.get(style) or self.fonts[0]
        canvas = Image.new("L", (self.cell_w * width, self.cell_h), 0)
        ImageDraw.Draw(canvas).text((0, 0), text, fill=255, font=font)
        mask = np.asarray(canvas, dtype=np.uint16)
        self._cache[key] = mask
        return mask, width


def load_font(size: int = 14, font_path: str | Path | None = None, builtin: bool = False) -> CellFont:
    """Pick a monospace font: ``font_path``, else bundled DejaVu Sans Mono, else pillow's bitmap font."""
    if not builtin:
        paths: dict[int, Path] = {}
        if font_path is not None:
            if not Path(font_path).is_file():
                raise ViewError(f"{font_path}: font file not found")
            paths[0] = Path(font_path)
        else:
            d = bundled_font_dir()
            if d is not None:
                paths = {k: d / v for k, v in _VARIANTS.items() if (d / v).is_file()}
        if paths:
            try:
                fonts = {k: ImageFont.truetype(str(p), size) for k, p in paths.items()}
            except OSError as exc:
                raise ViewError(f"{paths[0]}: cannot load font ({exc})") from exc
            regular = fonts[0]
            ascent, descent = regular.getmetrics()
            cell_w = max(1, round(regular.getlength("M")))
            return CellFont(fonts, cell_w, ascent + descent, latin1_only=False)
    bitmap = ImageFont.load_default_imagefont()
    left, top, right, bottom = bitmap.getbbox("M")
    return CellFont({0: bitmap}, right - left, bottom - top, latin1_only=True)


def palette_array(palette: Sequence[int]) -> np.ndarray:
    """0xRRGGBB ints -> (256, 3) uint8; missing entries are grey so they stand out."""
    pal = np.full((256, 3), 128, dtype=np.uint8)
    for i, rgb in enumerate(list(palette)[:256]):
        rgb = int(rgb)
        pal[i] = ((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255)
    return pal


def render_frame(
    font: CellFont,
    pal: np.ndarray,
    chars: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    attrs: np.ndarray,
    cursor: Sequence[int] | None,
) -> Image.Image:
    """Render one frame to an RGB image of (cols * cell_w) x (rows * cell_h) pixels."""
    rows, cols = chars.shape
    cw, ch = font.cell_w, font.cell_h
    fore = pal[fg].astype(np.int32)  # (R, C, 3)
    back = pal[bg].astype(np.int32)  # (R, C, 3)
    swap = (attrs & ATTR_REVERSE) != 0  # (R, C)
    if cursor is not None and int(cursor[2]):
        cr, cc = int(cursor[0]), min(int(cursor[1]), cols - 1)
        if 0 <= cr < rows and 0 <= cc:
            swap = swap.copy()
            swap[cr, cc] = ~swap[cr, cc]  # inverted block
    fore, back = np.where(swap[..., None], back, fore), np.where(swap[..., None], fore, back)
    img = np.repeat(np.repeat(back, ch, axis=0), cw, axis=1)  # (R*ch, C*cw, 3)
    width_px = cols * cw
    ys, xs = np.nonzero((chars != 32) & (chars != 0))
    skip_stub = set()
    for r, c in zip(ys.tolist(), xs.tolist()):
        if (r, c) in skip_stub:
            continue
        code = int(chars[r, c])
        a = int(attrs[r, c])
        style = (1 if a & ATTR_BOLD else 0) | (2 if a & ATTR_ITALIC else 0)
        mask, width = font.glyph(code, style)
        if width == 2:
            skip_stub.add((r, c + 1))
        y0, x0 = r * ch, c * cw
        x1 = min(x0 + mask.shape[1], width_px)
        m = mask[:, : x1 - x0, None]  # (ch, w, 1)
        region = img[y0 : y0 + ch, x0:x1]
        img[y0 : y0 + ch, x0:x1] = region + ((fore[r, c] - region) * m) // 255
    # Lines for underline / strike-through span the whole cell.
    for bit, frac in ((ATTR_UNDERLINE, 1.0), (ATTR_STRIKE, 0.55)):
        ys, xs = np.nonzero(attrs & bit)
        for r, c in zip(ys.tolist(), xs.tolist()):
            y = r * ch + min(ch - 1, int(ch * frac) - (1 if frac == 1.0 else 0))
            img[y, c * cw : (c + 1) * cw] = fore[r, c]
    return Image.fromarray(img.astype(np.uint8), "RGB")


def sheet_indices(total: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over [0, total), first and last included."""
    if total <= 0 or n <= 0:
        return []
    return sorted(set(np.linspace(0, total - 1, min(n, total)).round().astype(int).tolist()))


def contact_sheet(
    tiles: Sequence[tuple[str, Image.Image]],
    font: CellFont,
    columns: int | None = None,
    scale: float = 0.5,
    pad: int = 8,
) -> Image.Image:
    """Arrange labelled frame images in a grid; each label is drawn above its tile."""
    if not tiles:
        raise ViewError("contact sheet: no frames to show")
    n = len(tiles)
    columns = columns or max(1, int(np.ceil(np.sqrt(n))))
    w0, h0 = tiles[0][1].size
    tw, th = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    label_h = font.cell_h + 4
    gw, gh = tw + pad, th + label_h + pad
    grid_rows = (n + columns - 1) // columns
    sheet = Image.new("RGB", (columns * gw + pad, grid_rows * gh + pad), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    for k, (label, im) in enumerate(tiles):
        x = pad + (k % columns) * gw
        y = pad + (k // columns) * gh
        if font.latin1_only:
            label = label.encode("latin-1", "replace").decode("latin-1")
        draw.text((x, y), label, fill=(230, 230, 230), font=font.fonts[0])
        sheet.paste(im.resize((tw, th), Image.Resampling.LANCZOS) if scale != 1 else im, (x, y + label_h))
    return sheet
