"""``sessionforge inspect SHARD``: a shard's header, sessions and totals; ``--frame N`` shows a frame."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from sessionforge.formats import ShardReader, frame_text, open_shard


def _jsonable(x: Any) -> Any:
    if isinstance(x, bytes):
        return {"hex": x.hex()} if len(x) <= 64 else {"hex": x[:64].hex(), "len": len(x)}
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def _meta_summary(meta: dict, width: int = 70) -> str:
    """A one-line summary of a session's meta: the well-known keys first, then a few others."""
    parts = []
    for key in ("repo", "first_commit", "last_commit", "commits"):
        if key in meta:
            v = meta[key]
            parts.append(f"{key}={v[:10] if isinstance(v, str) and key.endswith('commit') else v}")
    for key, v in meta.items():
        if len(parts) >= 5:
            break
        if key in ("repo", "first_commit", "last_commit", "commits"):
            continue
        if isinstance(v, (list, dict)):
            v = f"<{len(v)} items>"
        elif isinstance(v, bytes):
            v = f"<{len(v)} bytes>"
        parts.append(f"{key}={v}")
    text = " ".join(str(p) for p in parts)
    return text if len(text) <= width else text[: width - 3] + "..."


def shard_summary(r: ShardReader) -> dict[str, Any]:
    """Header, per-session and total numbers of a shard, as plain data."""
    frames = sum(s.frames for s in r.sessions)
    return {
        "path": r.path,
        "version": r.version,
        "codec": r.codec,
        "rows": r.rows,
        "cols": r.cols,
        "file_bytes": r.file_size,
        "sessions": [
            {"index": s.index, "frames": s.frames, "action_bytes": s.action_bytes,
             "compressed_bytes": s.compressed_bytes, "bytes_per_frame": round(s.bytes_per_frame, 3),
             "palette_size": len(s.palette), "meta": _jsonable(s.meta)}
            for s in r.sessions
        ],
        "totals": {"sessions": len(r.sessions), "frames": frames,
                   "action_bytes": sum(s.action_bytes for s in r.sessions),
                   "bytes_per_frame": round(r.file_size / frames, 3) if frames else None},
    }


def frame_view(r: ShardReader, session: int, frame: int) -> dict[str, Any]:
    """One frame as text lines (trailing blanks kept: the box is the frame's width) plus its
    cursor and action; ``cursor_index`` is the cursor cell's character index in its line."""
    if not 0 <= session < len(r.sessions):
        raise click.BadParameter(f"session {session} out of range (shard has {len(r.sessions)})", param_hint="--session")
    n = r.sessions[session].frames
    if not 0 <= frame < n:
        raise click.BadParameter(f"frame {frame} out of range (session {session} has {n} frames)", param_hint="--frame")
    f = r.read_frames(session, frame, frame + 1)
    row, col, vis = (int(x) for x in f.cursor[0])
    lines = frame_text(f.chars[0], f.attrs[0], rstrip=False)
    index = col
    if 0 <= row < len(lines) and col > 0:
        # the characters the cells left of the cursor became (wide right halves dropped)
        index = len(frame_text(f.chars[0, row:row + 1, :col], f.attrs[0, row:row + 1, :col], rstrip=False)[0])
    return {"session": session, "frame": frame, "cursor": {"row": row, "col": col, "visible": bool(vis)},
            "action": f.action(0).decode("utf-8", "backslashreplace"), "lines": lines, "cursor_index": index}


def _print_frame(view: dict[str, Any], tty: bool) -> None:
    cur = view["cursor"]
    click.echo(f"session {view['session']}, frame {view['frame']}; action {view['action']!r}; "
               f"cursor row {cur['row']}, col {cur['col']} ({'visible' if cur['visible'] else 'hidden'})")
    width = max((len(line) for line in view["lines"]), default=0)
    click.echo("+" + "-" * width + "+")
    for r, line in enumerate(view["lines"]):
        if tty and r == cur["row"]:
            idx = view["cursor_index"]
            padded = line + " "
            line = padded[:idx] + "\x1b[7m" + padded[idx] + "\x1b[0m" + padded[idx + 1 :]
            click.echo("|" + line + "|")
        else:
            click.echo("|" + line + "|")
        if not tty and r == cur["row"]:
            click.echo(" " + " " * cur["col"] + "^ cursor")
    click.echo("+" + "-" * width + "+")


def _local_shard(shard: str, cache_dir: str | None) -> str:
    """A shard URL (``DATASET_URL/shards/NAME.tss``) as a local file: its dataset is fetched and
    checked against dataset.json first (a lone shard object has no checksum to trust)."""
    from sessionforge.dataset.remote import is_url, local_dataset

    if not is_url(shard) or shard.startswith("file://"):
        return shard.removeprefix("file://")
    base, _, name = shard.rstrip("/").rpartition("/shards/")
    if not base or "/" in name:
        raise click.BadParameter(f"{shard}: a shard URL looks like DATASET_URL/shards/NAME.tss", param_hint="SHARD")
    return str(local_dataset(base, cache_dir) / "shards" / name)


@click.command("inspect")
@click.argument("shard")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.option("--frame", "frame", type=int, default=None, help="Also show frame N of the session as text.")
@click.option("--session", "session", type=int, default=0, show_default=True, help="Session for --frame.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where a shard URL's dataset is fetched [~/.cache/sessionforge/datasets].")
def command(shard: str, as_json: bool, frame: int | None, session: int, cache_dir: str | None) -> None:
    """Show a termstream shard's header, sessions (frames, bytes/frame, meta) and totals.

    \b
    Examples:
      sessionforge inspect data/shards/repo-000.tss
      sessionforge inspect shard.tss --frame 120 --session 1
      sessionforge inspect shard.tss --json
      sessionforge inspect s3://bucket/ds/shards/repo-000.tss   # fetches and checks the dataset first
    """
    shard = _local_shard(shard, cache_dir)
    with open_shard(shard) as r:
        info = shard_summary(r)
        view = frame_view(r, session, frame) if frame is not None else None
    if as_json:
        if view is not None:
            info["frame"] = {k: v for k, v in view.items() if k != "cursor_index"}
        click.echo(json.dumps(info, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape

    console = Console()
    console.print(f"[bold]{escape(str(info['path']))}[/bold]  termstream {info['version']}, codec {info['codec']}, "
                  f"frames {info['rows']}x{info['cols']}, {info['file_bytes']:,} bytes",
                  soft_wrap=True)  # never break a long path in two: it must stay copyable
    table = Table(show_header=True, header_style="bold")
    for name, justify in (("session", "right"), ("frames", "right"), ("bytes/frame", "right"),
                          ("action bytes", "right"), ("colours", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    for s in info["sessions"]:
        table.add_row(str(s["index"]), f"{s['frames']:,}", f"{s['bytes_per_frame']:.2f}", f"{s['action_bytes']:,}",
                      str(s["palette_size"]))
    t = info["totals"]
    table.add_section()
    table.add_row(f"total ({t['sessions']})", f"{t['frames']:,}",
                  f"{t['bytes_per_frame']:.2f}" if t["frames"] else "-", f"{t['action_bytes']:,}", "")
    console.print(table)
    console.print("(total bytes/frame counts the whole file: headers, index and footer included)")
    for src in r.sessions:
        click.echo(f"session {src.index}: {_meta_summary(src.meta, width=200)}")
    if view is not None:
        _print_frame(view, sys.stdout.isatty())
