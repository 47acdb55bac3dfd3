"""``sessionforge build-dataset``: replay many git repositories into a dataset folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from sessionforge.errors import SessionforgeError

EPILOG = """\b
Examples:
  sessionforge build-dataset ~/src/myrepo --out data/            # one repository
  sessionforge build-dataset repos/ more.csv --out data/ --workers 8
  sessionforge build-dataset --config configs/build-example.yaml repos.parquet --out data/
  ray job submit --address http://HEAD:8265 --working-dir . -- \\
      sessionforge build-dataset repos.parquet --out /shared/data --executor ray --ray-address auto

\b
Precedence: defaults < --config FILE < --set KEY=VALUE < the named flags.
Rerunning the same command on the same --out resumes a killed build; --overwrite starts over.
Output: OUT/shards/*.tss, OUT/manifest.parquet, OUT/errors.parquet (failures; stage duplicate:
  inputs built as an earlier one with the same root commit), OUT/skipped.parquet (changes not
  typed, by reason), OUT/dataset.json."""


@click.command("build-dataset", epilog=EPILOG)
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("-o", "--out", required=True,
              help="Dataset folder to write, or an object-store URL (s3://bucket/prefix, any fsspec URL).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Build config (YAML or TOML).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. replay.rows=24.")
@click.option("--ref", help="Branch/ref to replay (default HEAD).")
@click.option("--max-commits", type=int, help="Replay at most the oldest N commits of each repository.")
@click.option("--frame-size", metavar="ROWSxCOLS", help="Terminal size = frame size [48x160].")
@click.option("--codec", type=click.Choice(["xz", "zstd"]), help="Shard compression (xz: smaller, zstd: faster).")
@click.option("--include", multiple=True, metavar="GLOB", help="Replay only paths matching a glob (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching a glob (repeatable).")
@click.option("--max-file-bytes", type=int, help="Skip files larger than this.")
@click.option("--max-diff-bytes", type=int, help="Skip commits that would type more than this.")
@click.option("--session-frames", type=int,
              help="Most frames in a session; cut before a commit, a file or a key [100000].")
@click.option("--no-file-filters", is_flag=True,
              help="Type notebooks, lock, vendored, generated and data files too (replay.files.enabled=false).")
@click.option("--shard-size", metavar="SIZE", help="Close a shard past this size, e.g. 256MB, 1GiB [256MB].")
@click.option("--slice-commits", type=int, help="Split histories into slices of this many commits, one job each [2000].")
@click.option("--license", "licenses", multiple=True, help="Keep repositories with this manifest license (repeatable; none = dropped).")
@click.option("--language", "languages", multiple=True, help="Keep repositories with this manifest language (repeatable).")
@click.option("--min-stars", type=int, help="Keep repositories with at least this many manifest stars.")
@click.option("--dedup-files", type=click.Choice(["off", "exact", "near"]),
              help="Skip file changes whose content another file already typed earlier in the build: the "
                   "same blob (exact) or a MinHash near-duplicate (near; the dedup extra) [off].")
@click.option("--split-ratio", metavar="val=SHARE,test=SHARE",
              help="Shares of repositories held out, by a hash of each root commit [val=0.05,test=0.05].")
@click.option("--executor", type=click.Choice(["local", "process", "ray"]),
              help="Where tasks run [local for one repository, else process].")
@click.option("--workers", type=int, help="Worker processes, or CPUs of a local Ray [all cores].")
@click.option("--ray-address", help="Ray cluster: 'auto' or HOST:PORT [start a local Ray].")
@click.option("--timeout", type=float, help="Time limit per job (one repository slice), in seconds.")
@click.option("--retries", type=int, help="Retries of a job whose worker process died [2].")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Where URLs are cloned [OUT/.cache/repos].")
@click.option("--strict", is_flag=True, help="Exit non-zero if any repository failed.")
@click.option("--overwrite", is_flag=True, help="Delete an existing dataset in OUT and start over.")
@click.option("--retry-failed", is_flag=True, help="On resume, replay again the slices that failed before.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output (the summary is still printed).")
def command(inputs: tuple[str, ...], out: str, config_path: str | None, overrides: tuple[str, ...],
            strict: bool, overwrite: bool, retry_failed: bool, quiet: bool, **flags: Any) -> None:
    """Replay git repositories into a termstream dataset (shards + manifest).

    INPUT is any mix of repositories (work tree or bare), folders searched recursively
    for repositories, URLs (cloned bare into a cache; file:// works) and manifests
    (.csv, .parquet, .jsonl) with a `path` or `url` column and optional `license`,
    `language`, `stars`. Without INPUT, the git repository of the current directory.
    The same inputs and config always give a byte-identical dataset.
    """
    from rich.console import Console

    from sessionforge.pipeline.build_progress import BuildProgress, stdout_console, summary_table
    from sessionforge.pipeline.runner import build_dataset

    cfg = load_build_config(config_path, overrides, flags)
    if not inputs:
        inputs = (current_repository(),)
    progress = BuildProgress(Console(stderr=True), enabled=not quiet)
    try:
        result = build_dataset(list(inputs), out, cfg, overwrite=overwrite, retry_failed=retry_failed,
                               progress=progress)
    except KeyboardInterrupt:
        progress.stop()
        click.echo("interrupted - run the same command again to resume", err=True)
        sys.exit(130)
    finally:
        progress.stop()
    nothing_built = _nothing_built(result.doc)
    if not nothing_built:  # a table of zeros says nothing; the errors below say what went wrong
        stdout_console().print(summary_table(result.doc, result.frames_per_s))
    _report_errors(out, result.errors, result.failed, strict, nothing_built)


def load_build_config(config_path: str | None, overrides: tuple[str, ...], flags: dict[str, Any]) -> Any:
    """Defaults < config file < --set < named flags, through :func:`sessionforge.config.load_config`."""
    from sessionforge.config import load_config, parse_frame_size
    from sessionforge.pipeline.config import BuildConfig, parse_split_ratio

    options = {
        "replay.ref": "--ref", "replay.max_commits": "--max-commits", "replay.max_file_bytes": "--max-file-bytes",
        "replay.max_diff_bytes": "--max-diff-bytes", "replay.session_frames": "--session-frames",
        "codec": "--codec", "shard_size": "--shard-size", "slice_commits": "--slice-commits",
        "filters.min_stars": "--min-stars", "run.executor": "--executor", "run.workers": "--workers",
        "run.ray_address": "--ray-address", "run.timeout": "--timeout", "run.retries": "--retries",
        "run.cache_dir": "--cache-dir", "dedup_files": "--dedup-files",
    }
    named: dict[str, tuple[str, Any]] = {}
    for key, option in options.items():
        named[key] = (option, flags.get(option[2:].replace("-", "_")))
    for key, option, flag in (("replay.include", "--include", "include"), ("replay.exclude", "--exclude", "exclude"),
                              ("filters.license", "--license", "licenses"),
                              ("filters.language", "--language", "languages")):
        if flags.get(flag):
            named[key] = (option, list(flags[flag]))
    if flags.get("no_file_filters"):
        named["replay.files.enabled"] = ("--no-file-filters", False)
    if flags.get("split_ratio"):
        for name, share in parse_split_ratio(flags["split_ratio"]).items():
            named[f"split.{name}"] = ("--split-ratio", share)
    if flags.get("frame_size"):
        rows, cols = parse_frame_size(flags["frame_size"])
        named["replay.rows"], named["replay.cols"] = ("--frame-size", rows), ("--frame-size", cols)
    return load_config(BuildConfig, config_path, list(overrides), named)


def current_repository() -> str:
    """The git repository containing the current directory (its work tree, or the bare folder)."""
    import pygit2

    found = pygit2.discover_repository(os.getcwd())
    if found is None:
        raise SessionforgeError("no INPUT given and the current directory is not inside a git repository")
    repo = pygit2.Repository(found)
    return repo.workdir or repo.path


def _nothing_built(doc: dict[str, Any]) -> bool:
    """Every repository failed: a build that produced nothing is a failure even without --strict."""
    return int(doc["totals"]["repositories_ok"]) == 0


def _report_errors(out: str, rows: list[dict[str, Any]], failed: int, strict: bool,
                   nothing_built: bool = False) -> None:
    """Print the duplicates and (the first) failures of a build; raise for --strict or nothing built."""
    import polars as pl

    from sessionforge.dataset.tables import DUPLICATE_STAGE, errors_frame, failures

    errors = errors_frame(rows)   # the rows errors.parquet holds: no reading back (OUT may be a URL)
    table = f"{out.rstrip('/')}/errors.parquet"
    # Not failures: an input with the history of an earlier one is built once, as that one.
    for row in errors.filter(pl.col("stage") == DUPLICATE_STAGE).head(10).iter_rows(named=True):
        click.echo(f"not built: {row['repository']}: {row['message']}", err=True)
    if not failed:
        return
    errors = failures(errors)
    for row in errors.head(10).iter_rows(named=True):
        where = "" if row["slice"] is None else f" [slice {row['slice']}]"
        click.echo(f"failed: {row['repository']}{where} at {row['stage']}: {row['message']}", err=True)
    if errors.height > 10:
        click.echo(f"... and {errors.height - 10} more in {table}", err=True)
    if strict:
        raise SessionforgeError(f"{failed} repositor{'y' if failed == 1 else 'ies'} failed (--strict); see {table}")
    if nothing_built:
        raise SessionforgeError(f"nothing was built: every repository failed; see {table}")
