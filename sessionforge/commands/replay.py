"""``sessionforge replay``: one git repository -> one termstream shard, verified lossless."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from sessionforge.config import load_config, parse_frame_size
from sessionforge.errors import ConfigError, SessionforgeError
from sessionforge.words import count

EXIT_LOSSLESS = 3  # distinct from 1 (input error) and 2 (usage error)


@click.command(name="replay")
@click.argument("repo", metavar="REPO")
@click.option("--out", "-o", required=True, metavar="SHARD", help="Shard file to write (e.g. out/repo.tss).")
@click.option("--force", is_flag=True, help="Replace --out if it exists (only once the new shard is complete).")
@click.option("--max-commits", type=int, default=None, metavar="N", help="Replay only the oldest N commits.")
@click.option("--frame-size", default=None, metavar="ROWSxCOLS", help="Terminal size (default 48x160).")
@click.option("--codec", type=click.Choice(["xz", "zstd"]), default="xz", show_default=True,
              help="Block compression: xz is smallest, zstd fastest.")
@click.option("--show", type=int, default=0, metavar="N", help="Print N sample frames as text afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="ReplayConfig YAML/TOML file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a ReplayConfig key (repeatable), e.g. --set exclude='[\"*.lock\"]'.")
def command(repo: str, out: str, force: bool, max_commits: int | None, frame_size: str | None, codec: str,
            show: int, as_json: bool, config_path: str | None, overrides: tuple[str, ...]) -> None:
    """Replay REPO's first-parent history as keystrokes into a shard.

    REPO is a work tree or a bare repository; nothing is checked out or executed.
    Command-line options win over --set, which wins over --config. Prints commits,
    files, frames, frames/s, bytes/frame, skipped changes by reason and lossless
    failures.

    An existing --out is refused unless --force is given. The shard is written
    under a temporary name and renamed when complete: after an error or Ctrl-C
    nothing is left under --out (with --force, the old shard is kept).

    \b
    Exit status: 0 ok, 1 input error, 3 when any replayed file differs from git.
    """
    from sessionforge.formats import ShardWriter
    from sessionforge.replay import ReplayConfig, list_commits, replay_repository

    named: dict[str, tuple[str, object]] = {"max_commits": ("--max-commits", max_commits)}
    if frame_size is not None:
        rows, cols = parse_frame_size(frame_size)
        named.update(rows=("--frame-size", rows), cols=("--frame-size", cols))
    cfg = load_config(ReplayConfig, config_path, list(overrides), named)
    if show < 0:
        raise ConfigError("--show must be >= 0")
    commits = list_commits(repo, cfg)   # fails early, with one line, on a bad repo or ref
    _check_out(Path(out), force)       # before the replay, not at the final rename after it
    with _progress(len(commits), enabled=True) as advance:
        with ShardWriter(out, rows=cfg.rows, cols=cfg.cols, codec=codec) as writer:
            stats = replay_repository(repo, cfg, writer, commits=commits, progress=advance)
    size_bytes = os.path.getsize(out)
    summary = {
        "repo": repo, "out": out, "codec": codec, "rows": cfg.rows, "cols": cfg.cols,
        **stats.to_dict(),
        "frames_per_s": stats.frames / stats.seconds if stats.seconds > 0 else 0.0,
        "shard_bytes": size_bytes,
        "bytes_per_frame": size_bytes / stats.frames if stats.frames else 0.0,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    if show:
        _show_frames(out, show)
    if stats.lossless_failures:
        click.echo(f"error: {count(len(stats.lossless_failures), 'lossless failure')}", err=True)
        sys.exit(EXIT_LOSSLESS)


def _check_out(out: Path, force: bool) -> None:
    """Reject an ``--out`` that cannot become the shard file, or that exists without ``force``;
    create its missing parent folders."""
    if out.is_dir():
        raise SessionforgeError(f"--out {out}: is a directory; give the shard file to write, e.g. {out / 'repo.tss'}")
    if out.exists() and not force:  # a finished shard is worth more than a typo in --out
        raise SessionforgeError(f"--out {out}: already exists; pass --force to replace it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionforgeError(f"--out {out}: cannot create its folder {out.parent} ({exc.strerror})") from None


class _progress:
    """A rich bar over commits on a TTY (stderr); a no-op otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self._bar = None

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if not (self.enabled and console.is_terminal):
            return lambda n: None
        self._bar = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("commits"),
                             TextColumn("{task.fields[frames]:,} frames"), TimeRemainingColumn(),
                             console=console, transient=True)
        self._bar.__enter__()
        task = self._bar.add_task("replay", total=self.total, frames=0)
        frames = [0]

        def advance(n: int) -> None:   # called once per commit with that commit's frames
            frames[0] += n
            self._bar.update(task, advance=1, frames=frames[0])

        return advance

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _print_summary(s: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    # paths and causes are user data, not markup: `[id].tsx` or `r[red]z` must print as-is
    t = Table(title=escape(f"replay {s['repo']} -> {s['out']}"), show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    for key, value in [
        ("commits", f"{s['commits']:,}"), ("files", f"{s['files']:,}"), ("frames", f"{s['frames']:,}"),
        ("sessions", f"{s['sessions']:,}"), ("seconds", f"{s['seconds']:.2f}"),
        ("frames/s", f"{s['frames_per_s']:,.0f}"), ("shard bytes", f"{s['shard_bytes']:,}"),
        ("bytes/frame", f"{s['bytes_per_frame']:.2f}"), ("codec", s["codec"]),
        ("frame size", f"{s['rows']}x{s['cols']}"),
        ("skipped", ", ".join(f"{k}={v}" for k, v in s["skipped"].items()) or "none"),
        ("lossless failures", str(len(s["lossless_failures"]))),
    ]:
        t.add_row(key, escape(value))
    console = Console()
    console.print(t)
    for commit, path, cause in s["lossless_failures"][:20]:
        console.print(f"[red]lossless failure[/red] {escape(f'{commit[:12]} {path}: {cause}')}", markup=True,
                      highlight=False)


def _show_frames(path: str, n: int) -> None:
    """Print ``n`` frames spread evenly over the shard, as safe text (:func:`sessionforge.formats.frame_text`)."""
    from sessionforge.formats import open_shard

    with open_shard(path) as r:
        counts = [int(info.frames) for info in r.sessions]
        total = sum(counts)
        if not total:
            return
        # global frame numbers only; each picked frame is decoded alone
        picks = sorted({(k * (total - 1)) // max(1, n - 1) for k in range(n)}) if n > 1 else [total - 1]
        for g in picks:
            sess = 0
            while g >= counts[sess]:
                g -= counts[sess]
                sess += 1
            fr = r.read_frames(sess, g, g + 1)
            row, col, visible = (int(x) for x in fr.cursor[0])
            click.echo(f"--- session {sess} frame {g} action={fr.action(0)!r} cursor={row},{col}"
                       f"{'' if visible else ' (hidden)'}")
            for line in fr.text(0):
                click.echo(line)
