"""``sessionforge play``: watch a session in this terminal."""

from __future__ import annotations

import click

from sessionforge.view.player import Player
from sessionforge.dataset import open_session
from sessionforge.dataset.remote import local_dataset


@click.command(name="play")
@click.argument("source", metavar="DIR|URL|SHARD")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
@click.option("--session", "-s", default=None, metavar="ID",
              help="Session id (dataset manifest) or index (shard). Default: the first session.")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Playback speed; 1 = 30 frames per second.")
@click.option("--from", "start", type=int, default=0, show_default=True, metavar="FRAME",
              help="Start at this frame.")
def command(source: str, cache_dir: str | None, session: str | None, speed: float, start: int) -> None:
    """Play a recorded session full-screen (alternate screen; restored on exit).

    \b
    Keys: space pause/resume, right/left step one frame, up/down step 100,
          +/- double/halve speed, g/G first/last frame, q quit.
    """
    with open_session(local_dataset(source, cache_dir), session) as ref:
        Player(ref, speed=speed, start=start).run()
