"""The ``sessionforge`` command.

Each verb lives in its own module under ``sessionforge/commands/`` and is imported
only when it runs, so ``sessionforge --help`` is fast and the data-building verbs
never import torch. Errors caused by input become one line on stderr and exit 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from sessionforge import __version__
from sessionforge.errors import SessionforgeError

# verb -> (module under sessionforge.commands, one-line help). Order is the help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "build-dataset": ("build_dataset", "Replay many git repositories into a dataset (shards + manifest)."),
    "replay": ("replay", "Replay one git repository into one termstream shard."),
    "inspect": ("inspect", "Show a shard's header, sessions and frames."),
    "stats": ("stats", "Totals and distributions of a dataset, from its manifest."),
    "verify": ("verify", "Check a dataset's checksums, decode every frame, optionally re-replay."),
    "play": ("play", "Play a recorded session in this terminal."),
    "export": ("export", "Export a session as an asciicast v2 recording or as text."),
    "render": ("render", "Render frames of a session to PNG images or a contact sheet."),
    "tokenizer": ("tokenizer", "Build and inspect action tokenizers."),
    "train": ("train", "Train an FBAM model on a dataset (streaming BPTT)."),
    "eval": ("eval", "Score a trained run on held-out frames beside unigram and n-gram baselines."),
    "rollout": ("rollout", "Let a trained model type into the live editor from a recorded frame; compare."),
    "bench": ("bench", "Synthetic recurrence benchmarks (FRJT, Withheld Maze)."),
    "report": ("report", "Reports over training runs (loss vs window length)."),
}

# Top-level modules of the `train` extra (torch, triton, safetensors, matplotlib).
TRAIN_EXTRA_MODULES = frozenset({"torch", "triton", "safetensors", "matplotlib"})


class LazyGroup(click.Group):
    """A click group that imports a verb's module only when that verb is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (mod, _) in COMMANDS.items() if _module_exists(mod)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _module_exists(entry[0]):
            return None
        module = importlib.import_module(f"sessionforge.commands.{entry[0]}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Use the static help strings so `--help` does not import every verb (and torch).
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(mod: str) -> bool:
    return importlib.util.find_spec(f"sessionforge.commands.{mod}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sessionforge")
def cli() -> None:
    """sessionforge: git history -> terminal-session datasets -> recurrent action models.

    \b
    Typical flow:
      sessionforge build-dataset REPO... --out DATA     # replay git history into shards
      sessionforge inspect DATA/shards/<name>.tss       # look at what was written
      sessionforge train --config configs/debug.yaml --data DATA --out RUN

    Set SESSIONFORGE_DEBUG=1 to see full tracebacks.
    """


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI, turning input errors into one line + exit 1."""
    try:
        # standalone_mode=False returns ctx.exit(n)'s code instead of exiting.
        rv = cli.main(args=argv, prog_name="sessionforge", standalone_mode=False)
        if isinstance(rv, int) and rv != 0:
            sys.exit(rv)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except ModuleNotFoundError as exc:
        # The training verbs need the `train` extra; a data-only install must say so, not crash.
        if (exc.name or "").split(".")[0] not in TRAIN_EXTRA_MODULES or os.environ.get("SESSIONFORGE_DEBUG"):
            raise
        click.echo(f"error: this command needs {exc.name!r}, which comes with the train extra: "
                   "pip install 'sessionforge[train]'", err=True)
        sys.exit(1)
    except (SessionforgeError, OSError) as exc:
        if os.environ.get("SESSIONFORGE_DEBUG"):
            raise
        # An OSError's text may lack the file ("[Errno 27] File too large" from a write): name it.
        where = getattr(exc, "filename", None)
        text = str(exc) if not where or str(where) in str(exc) else f"{where}: {exc}"
        click.echo(f"error: {text}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
