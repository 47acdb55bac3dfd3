"""``sessionforge render``: frames of a session as PNG images or one contact sheet."""

from __future__ import annotations

from pathlib import Path

import click
from PIL import Image
from rich.markup import escape

from sessionforge.files import atomic_path
from sessionforge.view.progress import frame_progress
from sessionforge.view.render import contact_sheet, load_font, palette_array, render_frame, sheet_indices
from sessionforge.dataset import open_session
from sessionforge.dataset.remote import local_dataset
from sessionforge.view.frame_access import FrameCache, Markers, ViewError, parse_frame_list


@click.command(name="render")
@click.argument("source", metavar="DIR|URL|SHARD")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
@click.option("--session", "-s", default=None, metavar="ID",
              help="Session id (dataset manifest) or index (shard). Default: the first session.")
@click.option("--frames", "frame_list", default=None, metavar="LIST",
              help="Comma-separated frame indices, e.g. 0,100,200 (negative = from the end). Default: 0.")
@click.option("-o", "--out", "outdir", required=True, type=click.Path(file_okay=False),
              help="Output directory (created if missing).")
@click.option("--sheet", type=int, default=None, metavar="N",
              help="Write one contact sheet of N frames spread evenly over the session instead.")
@click.option("--font-size", type=int, default=14, show_default=True, help="Font size in pixels.")
@click.option("--font", "font_path", type=click.Path(dir_okay=False), default=None,
              help="A monospace TTF to use (default: DejaVu Sans Mono if installed, else a bitmap font).")
@click.option("--scale", type=float, default=0.5, show_default=True, help="Contact sheet: tile scale.")
def command(source: str, cache_dir: str | None, session: str | None, frame_list: str | None, outdir: str, sheet: int | None,
            font_size: int, font_path: str | None, scale: float) -> None:
    """Render frames of one session to PNG (colours, reverse video, cursor drawn).

    \b
    Examples:
      sessionforge render DATA --session ID --frames 0,100,200 -o pngs/
      sessionforge render DATA --session ID --sheet 12 -o pngs/    # pngs/<session>-sheet.png

    Each PNG is written under a temporary name and renamed when complete: after an
    error or Ctrl-C no half-written image is left, and an existing one is kept.
    """
    if sheet is not None and sheet <= 0:
        raise ViewError(f"--sheet {sheet}: must be > 0")
    if not 0 < scale <= 4:
        raise ViewError(f"--scale {scale}: must be in (0, 4]")
    font = load_font(font_size, font_path)
    out = Path(outdir)
    with open_session(local_dataset(source, cache_dir), session) as ref:
        if ref.frames == 0:
            raise ViewError(f"{ref.label}: the session has no frames")
        idx = sheet_indices(ref.frames, sheet) if sheet else parse_frame_list(frame_list or "0", ref.frames)
        # only now, with the session and frames valid, may the output folder appear
        out.mkdir(parents=True, exist_ok=True)
        pal = palette_array(ref.info.palette)
        cache = FrameCache(ref, chunk=1)  # frames are far apart: decode only what is drawn
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in ref.label)
        markers = Markers(ref.info.meta)
        tiles = []
        with frame_progress(escape(f"render {ref.label}"), len(idx)) as advance:
            for t in idx:
                chars, fg, bg, attrs, cursor, _ = cache.get(t)
                im = render_frame(font, pal, chars, fg, bg, attrs, cursor)
                if sheet:
                    commit, path = markers.at(t)
                    tiles.append((f"frame {t}" + (f"  {commit[:8]} {path}" if commit else ""), im))
                else:  # saved as drawn: only one frame's image is held at a time
                    dest = out / f"{stem}-{t:06d}.png"
                    _save_png(im, dest)
                    click.echo(f"wrote {dest}", err=True)
                advance(1)
        if sheet:
            dest = out / f"{stem}-sheet.png"
            _save_png(contact_sheet(tiles, font, scale=scale), dest)
            click.echo(f"wrote {dest} ({len(tiles)} frames)", err=True)


def _save_png(im: Image.Image, dest: Path) -> None:
    """Save ``im`` as ``dest`` atomically.

    Pillow removes its half-written file only on an ``Exception`` it made the file for:
    after Ctrl-C, or a failure over an existing file, the truncated image would stay.
    """
    with atomic_path(dest) as tmp:
        im.save(tmp, format="PNG")
