"""``sessionforge tokenizer``: build and inspect action tokenizers."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("tokenizer")
def command() -> None:
    """Build and inspect action tokenizers (bytes, arrow runs, learned pieces)."""


@command.command("build")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Tokenizer JSON file to write.")
@click.option("--vocab", default=20000, show_default=True, help="Vocabulary size (base 381 + learned pieces).")
@click.option("--max-bytes", default=8_000_000, show_default=True, help="Action bytes sampled from the data.")
@click.option("--max-piece", default=24, show_default=True, help="Longest learned piece, in bytes.")
def build(data: tuple[Path, ...], output: Path, vocab: int, max_bytes: int, max_piece: int) -> None:
    """Learn a tokenizer from the action bytes of DATA (dataset directories or shard files)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from sessionforge.model.tokenizer import build_tokenizer
    from sessionforge.dataset import ShardSet

    console = Console(stderr=True)
    shards = ShardSet(list(data))
    seen = [0]

    def streams():
        with Progress(TextColumn("[bold]reading actions"), BarColumn(), TextColumn("{task.completed} sessions"),
                      console=console) as bar:
            task = bar.add_task("read", total=len(shards.sessions))
            for s in shards.action_streams(max_bytes):
                seen[0] += len(s)
                bar.advance(task)
                yield s

    tok = build_tokenizer(streams(), vocab, max_piece)
    tok.save(output)
    ids = tok.encode(b"".join(shards.action_streams(min(max_bytes, 1_000_000))))
    console.print(f"{output}: {tok.vocab_size} tokens ({len(tok.learned)} learned) from {seen[0]:,} action bytes; "
                  f"{len(ids):,} tokens for the first {min(seen[0], 1_000_000):,} bytes")


@command.command("show")
@click.argument("tokenizer", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", default=40, show_default=True, help="How many learned pieces to list.")
@click.option("--encode", "text", default=None, help="Also tokenize this string (Python escapes allowed).")
def show(tokenizer: Path, top: int, text: str | None) -> None:
    """Print a tokenizer's size and its first learned pieces."""
    from sessionforge.model.tokenizer import BASE_VOCAB, ActionTokenizer

    tok = ActionTokenizer.load(tokenizer)
    click.echo(f"{tokenizer}: {tok.vocab_size} tokens = {BASE_VOCAB} base + {len(tok.learned)} learned")
    for i, piece in enumerate(tok.learned[:top]):
        click.echo(f"  {BASE_VOCAB + i:6d}  {piece!r}")
    if text is not None:
        try:
            data = text.encode().decode("unicode_escape").encode("latin-1")
        except UnicodeError as exc:  # e.g. a lone '\x': one line, not a traceback
            raise click.BadParameter(f"{text!r} is not a valid escaped string ({exc.reason})",
                                     param_hint="'--encode'") from None
        ids = tok.encode(data)
        click.echo(f"encode {data!r} -> {ids}")
        click.echo("pieces: " + " | ".join(repr(tok.pieces[i]) for i in ids))
