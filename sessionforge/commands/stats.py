"""``sessionforge stats``: totals and distributions of a dataset."""

from __future__ import annotations

import json

import click

from sessionforge.words import count


@click.command("stats")
@click.argument("dataset")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--sample-shards", default=4, show_default=True, help="Shards sampled for the top actions.")
@click.option("--sample-frames", default=200_000, show_default=True, help="At most this many frames sampled.")
@click.option("--top", default=20, show_default=True, help="How many top actions to show.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a dataset URL's files are fetched [~/.cache/sessionforge/datasets].")
def command(dataset: str, as_json: bool, sample_shards: int, sample_frames: int, top: int,
            cache_dir: str | None) -> None:
    """Totals and distributions of DATASET (a build-dataset output folder or its URL), from its manifest:
    frames per session, bytes per frame, frames by file extension, skipped changes by
    reason, most common actions (from a sample of shards), one row per repository."""
    from sessionforge.dataset.remote import local_dataset
    from sessionforge.pipeline.stats import dataset_stats

    st = dataset_stats(local_dataset(dataset, cache_dir), sample_shards=sample_shards, sample_frames=sample_frames, top=top)
    if as_json:
        click.echo(json.dumps(st, indent=1, sort_keys=True))
        return
    _print_tables(st)


def _print_tables(st: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    con = Console()
    t = st["totals"]
    # dataset paths, repository names and actions are user data, never markup (`r[red]z`, `[id].tsx`)
    tot = Table(title=escape(f"{st['dataset']}"), show_header=False)
    for key in ("repositories", "repositories_ok", "repositories_failed", "repositories_duplicate", "filtered_out",
                "shards", "sessions", "commits", "frames", "action_bytes", "bytes", "bytes_per_frame",
                "lossless_failures"):
        if key not in t:   # a dataset built before the key existed
            continue
        tot.add_row(key.replace("_", " "), f"{t[key]:,}" if isinstance(t[key], int) else str(t[key]))
    tot.add_row("actions bytes/frame", str(st["actions_per_frame"]))
    for stage, n in sorted(st["errors_by_stage"].items()):
        tot.add_row(escape(f"errors at {stage}"), f"{n:,}")
    con.print(tot)
    for d in st.get("duplicates", []):
        con.print(escape(f"not built: {d['repository']}: {d['message']}"), highlight=False)

    _print_extensions(con, st.get("frames_by_ext", []))
    skips = Table(title="skipped changes by reason (listed: rows of skipped.parquet)")
    for c in ("reason", "changes", "listed", "bytes"):
        skips.add_column(c, justify="left" if c == "reason" else "right")
    for r in st.get("skipped_by_reason", []):
        skips.add_row(escape(r["reason"]), f"{r['changes']:,}", f"{r['listed']:,}", f"{r['bytes']:,}")
    if st.get("skipped_by_reason"):
        con.print(skips)

    splits = Table(title="splits (by repository)" + (f": {st['splits_note']}" if st.get("splits_note") else ""))
    for c in ("split", "repositories", "sessions", "frames"):
        splits.add_column(c, justify="left" if c == "split" else "right")
    for name, row in st["splits"].items():
        splits.add_row(name, f"{row['repositories']:,}", f"{row['sessions']:,}", f"{row['frames']:,}")
    con.print(splits)

    dist = Table(title="distributions over sessions")
    dist.add_column("")
    for q in ("min", "p10", "p50", "p90", "max", "mean"):
        dist.add_column(q, justify="right")
    for name in ("frames_per_session", "commits_per_session", "bytes_per_frame_per_session"):
        d = st[name]
        dist.add_row(name.replace("_", " "), *[_num(d[q]) for q in ("min", "p10", "p50", "p90", "max", "mean")])
    con.print(dist)

    ta = st["top_actions"]
    acts = Table(title=f"top actions ({count(ta['sampled_frames'], 'frame')} from "
                       f"{count(ta['sampled_shards'], 'shard')})")
    acts.add_column("action")
    acts.add_column("count", justify="right")
    acts.add_column("share", justify="right")
    for a in ta["top"]:
        # quoted: a space or an empty action must stay visible in the table
        shown = a["action"] if a["action"] == "(none)" else f"'{a['action']}'"
        acts.add_row(escape(shown), f"{a['count']:,}", f"{100 * a['share']:.2f}%")
    con.print(acts)

    repos = Table(title="repositories (path ends; --json: whole paths)")
    # Fits 80 columns: short headers, lossless failures only when there are any (then they
    # matter more than width), and a name column that never wraps, since a wrapped path no
    # longer tells repositories apart.
    cols = ["repository", "split", "sessions", "frames", "bytes", "bytes_per_frame"]
    if any(r["lossless_failures"] for r in st["repositories"]):
        cols.append("lossless_failures")
    header = {"bytes_per_frame": "B/frame", "lossless_failures": "lossless fails"}
    names = distinct_tails([str(r["repository"]) for r in st["repositories"]])
    for c in cols:
        repos.add_column(header.get(c, c), justify="left" if c in ("repository", "split") else "right",
                         no_wrap=c == "repository", min_width=max(map(len, names), default=10)
                         if c == "repository" else None)
    for r, name in zip(st["repositories"], names):
        row = {**r, "repository": name}
        repos.add_row(*[f"{row[c]:,}" if isinstance(row[c], int) else escape(str(row[c])) for c in cols])
    con.print(repos)


def _print_extensions(con, rows: list[dict], top: int = 20) -> None:
    """Frames by file extension, the ``top`` largest (``--json`` has them all)."""
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        return
    more = f"; {len(rows) - top} more in --json" if len(rows) > top else ""
    table = Table(title=f"frames by file extension{more}")
    for c in ("extension", "frames", "share"):
        table.add_column(c, justify="left" if c == "extension" else "right")
    for r in rows[:top]:
        table.add_row(escape(r["ext"]), f"{r['frames']:,}", f"{100 * r['share']:.2f}%")
    con.print(table)


def distinct_tails(paths: list[str]) -> list[str]:
    """Each path cut to its shortest tail of components (two at least, like ``owner/repo``) that
    no other path ends with, so that narrow tables keep what tells repositories apart
    (``/a/x/repo``, ``/b/y/repo`` -> ``x/repo``, ``y/repo``)."""
    parts = [p.rstrip("/").split("/") for p in paths]
    out = []
    for i, ps in enumerate(parts):
        for n in range(min(2, len(ps)), len(ps) + 1):
            tail = ps[-n:]
            if all(other[-n:] != tail for j, other in enumerate(parts) if j != i):
                break
        out.append("/".join(tail))
    return out


def _num(value: float | int | None) -> str:
    """Readable quantile: thousands separators for big values, 3 decimals for small ones."""
    if value is None:
        return "-"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.3f}"
