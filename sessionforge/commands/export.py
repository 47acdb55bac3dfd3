"""``sessionforge export``: a session as an asciicast (v2 or v3) recording or as plain text."""

from __future__ import annotations

import click
from rich.markup import escape

from sessionforge.view.export import DEFAULT_FPS, write_asciicast, write_text
from sessionforge.view.progress import frame_progress
from sessionforge.dataset import open_session
from sessionforge.dataset.remote import local_dataset
from sessionforge.view.frame_access import ViewError, parse_range

# --format -> asciicast version (None: plain text)
_FORMATS = {"asciicast": 2, "asciicast-v2": 2, "asciicast-v3": 3, "text": None}


@click.command(name="export")
@click.argument("source", metavar="DIR|URL|SHARD")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
@click.option("--session", "-s", default=None, metavar="ID",
              help="Session id (dataset manifest) or index (shard). Default: the first session.")
@click.option("--format", "fmt", type=click.Choice(list(_FORMATS)), default="asciicast", show_default=True,
              help="asciicast = asciicast-v2 (.cast; the asciinema 2.x on PyPI plays it), asciicast-v3 "
                   "(what asciinema 3.x records; event times are intervals), or text (plain-text frames).")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, writable=True), help="Output file.")
@click.option("--frames", "frame_range", default=None, metavar="A:B",
              help="Only frames A..B-1 (either side optional; negative counts from the end).")
@click.option("--fps", type=float, default=DEFAULT_FPS, show_default=True,
              help="asciicast: frames per second of the recording's clock: the K-th exported frame "
                   "(K = 0 for the first of --frames) is shown at K/FPS seconds.")
@click.option("--no-input", is_flag=True, help="asciicast: leave out the key actions (\"i\" events).")
@click.option("--no-markers", is_flag=True,
              help="asciicast: leave out the commit/file markers (\"m\" events; `asciinema play -m` stops at them).")
def command(source: str, cache_dir: str | None, session: str | None, fmt: str, out: str, frame_range: str | None,
            fps: float, no_input: bool, no_markers: bool) -> None:
    """Export one session of a dataset directory or shard file.

    Time in a recording: one stored frame is one tick of a --fps clock. The
    K-th exported frame (K = 0 for the first frame of --frames, whatever its
    index in the session) appears at K/FPS seconds, rounded to the microsecond,
    with its key action ("i") and any commit/file marker ("m") at the same time.
    A v3 recording ends with its exit event at N/FPS for N frames. The file is
    written under a temporary name and renamed when complete: after an error
    or Ctrl-C, -o is left as it was.

    \b
    Examples:
      sessionforge export DATA --session ID -o session.cast && asciinema play session.cast
      sessionforge export DATA --session ID --format asciicast-v3 --fps 60 -o session.cast
      sessionforge export DATA/shards/x.tss --session 0 --format text --frames 0:50 -o frames.txt
    """
    if fps <= 0:
        raise ViewError(f"--fps {fps}: must be > 0")
    with open_session(local_dataset(source, cache_dir), session) as ref:
        start, stop = parse_range(frame_range, ref.frames)
        # the label (a session id) is text, not rich markup
        with frame_progress(escape(f"export {ref.label}"), stop - start) as advance:
            version = _FORMATS[fmt]
            if version is not None:
                n = write_asciicast(ref, out, start, stop, fps=fps, inputs=not no_input,
                                    markers=not no_markers, progress=advance, version=version)
                what = f"asciicast v{version}, {n} events"
            else:
                write_text(ref, out, start, stop, progress=advance)
                what = "text"
        click.echo(f"wrote {out}: frames {start}..{stop - 1} of {ref.label} ({what})", err=True)
