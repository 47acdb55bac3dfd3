"""``sessionforge verify``: checksums, a full decode, and optionally a re-replay of a dataset."""

from __future__ import annotations

import click

from sessionforge.errors import SessionforgeError
from sessionforge.words import count


@click.command("verify")
@click.argument("dataset")
@click.option("--deep", default=0, show_default=True, metavar="N",
              help="Also replay N sessions again (evenly spread) and compare every frame exactly.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
def command(dataset: str, deep: int, cache_dir: str | None) -> None:
    """Check DATASET (a folder, or a URL such as s3://bucket/prefix): every shard's size and sha256
    against dataset.json, every session against the manifest, and a full decode of every frame.
    Exits 1 with the list of problems if any."""
    from rich.console import Console

    from sessionforge.dataset.remote import local_dataset
    from sessionforge.pipeline.verify import verify_dataset

    dataset = str(local_dataset(dataset, cache_dir))

    con = Console(stderr=True)
    with con.status("verifying") as status:
        rep = verify_dataset(dataset, deep=deep, progress=lambda what: status.update(f"verifying {what}"))
    for p in rep.problems:
        click.echo(f"problem: {p}", err=True)
    summary = (f"{count(rep.shards, 'shard')}, {count(rep.sessions, 'session')}, "
               f"{count(rep.frames, 'frame')} decoded"
               + (f"; {count(rep.deep_sessions, 'session')} ({count(rep.deep_frames, 'frame')}) "
                  "replayed again and identical" if deep else ""))
    if not rep.ok:
        raise SessionforgeError(f"{dataset}: {count(len(rep.problems), 'problem')} found ({summary})")
    click.echo(f"ok: {summary}")
