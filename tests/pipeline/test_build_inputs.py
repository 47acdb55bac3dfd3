"""Inputs: repository paths, folders searched recursively, manifests, URLs, filters; the clone
cache; the output folder's config guard."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from gitfactory import RepoFactory
from sessionforge.pipeline.clone import cache_path, clone_cached
from sessionforge.config import parse_frame_size
from sessionforge.pipeline.config import BuildConfig, FilterConfig, output_config, parse_size
from sessionforge.pipeline.inputs import ManifestError, is_url, resolve_inputs
from sessionforge.pipeline.state import BuildStateError, OutputDir
from sessionforge.errors import ConfigError


def _repo(path, bare=False, n=1):
    f = RepoFactory(path, bare=bare)
    for i in range(n):
        f.commit({"a.txt": f"v{i}\n"}, f"c{i}")
    return f


def test_folder_scan_finds_worktree_and_bare_repos_in_sorted_order(tmp_path):
    _repo(tmp_path / "top" / "b_work")
    _repo(tmp_path / "top" / "a" / "deep" / "bare.git", bare=True)
    (tmp_path / "top" / "empty_dir").mkdir()
    _repo(tmp_path / "top" / "out" / ".cache" / "repos" / "clone.git", bare=True)  # a build's clone cache
    got = resolve_inputs([str(tmp_path / "top")], skip=[tmp_path / "top" / "out"])
    assert [r.path for r in got.repos] == [str((tmp_path / "top/a/deep/bare.git").resolve()),
                                           str((tmp_path / "top/b_work").resolve())]
    assert got.errors == []


def test_missing_path_non_repo_folder_and_stray_file_become_errors(tmp_path):
    _repo(tmp_path / "ok")
    (tmp_path / "plain").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    got = resolve_inputs([str(tmp_path / "nope"), str(tmp_path / "plain"), str(tmp_path / "notes.txt"),
                          str(tmp_path / "ok")])
    assert [r.identity for r in got.repos] == [str((tmp_path / "ok").resolve())]
    messages = [e.message for e in got.errors]
    assert len(messages) == 3
    assert "no such file" in messages[0] and "no git repository" in messages[1] and "manifest" in messages[2]


def test_duplicates_keep_first_position(tmp_path):
    _repo(tmp_path / "r1")
    _repo(tmp_path / "r2")
    got = resolve_inputs([str(tmp_path / "r2"), str(tmp_path), str(tmp_path / "r1")])
    assert [r.identity.rsplit("/", 1)[-1] for r in got.repos] == ["r2", "r1"]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_manifests_and_filters(tmp_path, kind):
    for name in ("a", "b", "c", "d"):
        _repo(tmp_path / name)
    rows = [
        {"path": "a", "license": "MIT", "language": "Python", "stars": 50},
        {"path": str(tmp_path / "b"), "license": "GPL-3.0", "language": "Python", "stars": 500},
        {"path": "c", "license": "mit", "language": "C", "stars": 5},
        {"path": "d", "license": None, "language": "Python", "stars": None},
    ]
    df = pl.DataFrame(rows, schema={"path": pl.String, "license": pl.String, "language": pl.String, "stars": pl.Int64})
    man = tmp_path / f"repos.{kind}"
    {"csv": df.write_csv, "jsonl": df.write_ndjson, "parquet": df.write_parquet}[kind](man)
    names = lambda got: [r.identity.rsplit("/", 1)[-1] for r in got.repos]  # noqa: E731
    everything = resolve_inputs([str(man)])
    assert names(everything) == ["a", "b", "c", "d"]
    assert everything.repos[1].stars == 500 and everything.repos[0].license == "MIT"
    got = resolve_inputs([str(man)], FilterConfig(license=["MIT"]))
    assert names(got) == ["a", "c"] and got.filtered == 2          # case-insensitive; missing fails
    assert names(resolve_inputs([str(man)], FilterConfig(min_stars=10))) == ["a", "b"]
    assert names(resolve_inputs([str(man)], FilterConfig(language=["python"], min_stars=100))) == ["b"]


def test_bad_manifest_is_a_user_error_naming_file_and_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,stars\nx,1\n")
    with pytest.raises(ManifestError, match="bad.csv.*'path' or 'url'"):
        resolve_inputs([str(bad)])
    bad2 = tmp_path / "bad2.jsonl"
    bad2.write_text(json.dumps({"path": "a", "stars": "many"}) + "\n")
    with pytest.raises(ManifestError, match="row 1.*stars"):
        resolve_inputs([str(bad2)])


def test_file_url_is_cloned_bare_once_into_the_cache(tmp_path):
    src = _repo(tmp_path / "src", n=3)
    url = (tmp_path / "src").resolve().as_uri()
    assert is_url(url) and is_url("git@github.com:a/b.git") and not is_url(str(tmp_path))
    got = resolve_inputs([url])
    assert got.repos[0].url == url and got.repos[0].identity == url
    path = clone_cached(url, tmp_path / "cache")
    assert path == cache_path(tmp_path / "cache", url) and (path / "HEAD").is_file()
    import pygit2
    clone = pygit2.Repository(str(path))
    assert clone.is_bare and str(clone.head.target) == src.head
    mtime = path.stat().st_mtime_ns
    assert clone_cached(url, tmp_path / "cache") == path and path.stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]   # no temp folder left


def test_sizes_and_frame_sizes():
    assert parse_size("256MB") == 256_000_000 and parse_size("1GiB") == 2**30 and parse_size(4096) == 4096
    assert parse_size("1.5kb") == 1500
    assert parse_frame_size("24x80") == (24, 80)
    for bad in ("", "12 parsecs", "-5MB", "0"):
        with pytest.raises(ConfigError):
            parse_size(bad)
    with pytest.raises(ConfigError):
        parse_frame_size("24*80")


def test_output_dir_refuses_a_different_config_and_foreign_folders(tmp_path):
    out = OutputDir(tmp_path / "data")
    cfg = BuildConfig()
    out.prepare(output_config(cfg), overwrite=False)
    out.prepare(output_config(cfg), overwrite=False)            # same config: resume is fine
    cfg.run.workers = 7                                          # how it runs is not what it builds
    out.prepare(output_config(cfg), overwrite=False)
    cfg.replay.rows = 24
    with pytest.raises(BuildStateError, match="replay.rows: 48 here, 24 now"):
        out.prepare(output_config(cfg), overwrite=False)
    (out.shards / "x.tss").write_bytes(b"x")
    out.prepare(output_config(cfg), overwrite=True)              # --overwrite starts over
    assert not (out.shards / "x.tss").exists()
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("...")
    with pytest.raises(BuildStateError, match="not a sessionforge dataset"):
        OutputDir(foreign).prepare(output_config(cfg), overwrite=False)


def test_one_build_at_a_time_per_folder(tmp_path):
    out = OutputDir(tmp_path / "data")
    with out.lock():
        with pytest.raises(BuildStateError, match="another build"):
            OutputDir(tmp_path / "data").lock()
        out.prepare(output_config(BuildConfig()), overwrite=True)    # --overwrite keeps the held lock
        assert (out.build / "lock").exists() and out.state.is_file()
    with OutputDir(tmp_path / "data").lock():                         # released with the file
        pass


def test_cli_config_precedence_file_then_set_then_flags(tmp_path):
    from sessionforge.commands.build_dataset import load_build_config

    cfg_file = tmp_path / "build.yaml"
    cfg_file.write_text("replay: {rows: 30, cols: 100, max_commits: 5}\ncodec: zstd\nrun: {workers: 3}\n")
    cfg = load_build_config(str(cfg_file), ("replay.rows=40", "replay.seed=7"),
                            {"frame_size": "24x80", "include": ("*.py",), "licenses": ("MIT",), "workers": None})
    assert (cfg.replay.rows, cfg.replay.cols) == (24, 80)          # the flag beats --set and the file
    assert cfg.replay.seed == 7 and cfg.replay.max_commits == 5 and cfg.codec == "zstd"
    assert cfg.run.workers == 3 and cfg.replay.include == ["*.py"] and cfg.filters.license == ["MIT"]
    with pytest.raises(ConfigError, match="unknown key"):
        load_build_config(None, ("replay.colour=1",), {})
    example = load_build_config(str(Path(__file__).resolve().parents[2] / "configs" / "build-example.yaml"), (), {})
    assert example.run.timeout == 3600 and example.replay.rows == 48
