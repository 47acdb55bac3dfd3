"""Splits by repository: a pure function of the root commit, stable under input order, executor,
resume and forks; one split per repository; old datasets read as all-train."""

from __future__ import annotations

import io
import json
import random

import polars as pl
import pytest
from rich.console import Console

from buildkit import make_small_repo, small_config
from sessionforge.config import ConfigError
from sessionforge.pipeline.config import SplitConfig, parse_split_ratio
from sessionforge.pipeline.runner import build_dataset
from sessionforge.dataset.splits import assign_split, split_fraction
from sessionforge.pipeline.stats import dataset_stats


def test_assignment_follows_the_shares_and_only_the_root():
    rng = random.Random(0)
    roots = [f"{rng.getrandbits(160):040x}" for _ in range(20_000)]
    got = [assign_split(r, 0.1, 0.2) for r in roots]
    assert abs(got.count("val") / len(got) - 0.1) < 0.01 and abs(got.count("test") / len(got) - 0.2) < 0.01
    assert got == [assign_split(r, 0.1, 0.2) for r in roots]   # no hidden state
    # Growing the val share only moves repositories from test/train into val, never out of it.
    wider = [assign_split(r, 0.2, 0.2) for r in roots]
    assert all(w == "val" for g, w in zip(got, wider) if g == "val")
    assert 0 <= split_fraction(roots[0]) < 1


def test_split_ratio_option_and_bad_shares():
    assert parse_split_ratio("val=0.1,test=0.02") == {"val": 0.1, "test": 0.02}
    assert parse_split_ratio("test=0") == {"test": 0.0}
    for bad in ("val=x", "train=0.5", "val"):
        with pytest.raises(ConfigError, match="--split-ratio"):
            parse_split_ratio(bad)
    with pytest.raises(ValueError, match="together <= 1"):
        SplitConfig(val=0.7, test=0.5)


def _repo_splits(out) -> dict[str, str]:
    man = pl.read_parquet(out / "manifest.parquet")
    per_repo = man.group_by("repository").agg(pl.col("split").unique())
    assert all(len(s) == 1 for s in per_repo["split"]), "a repository's sessions fell in two splits"
    return {r: s[0] for r, s in zip(per_repo["repository"], per_repo["split"])}


def test_splits_are_stable_under_order_executor_resume_and_forks(repos, tmp_path):
    cfg = small_config("local")
    cfg.split = SplitConfig(val=0.4, test=0.3)
    # A mirror of alpha under another URL: same root commit, so it is built once (the first
    # of the two in input order) and lands in the same split whichever is built.
    mirror = f"file://{repos[0]}"
    first = tmp_path / "a"
    build_dataset([*repos, mirror], first, cfg)
    splits = _repo_splits(first)
    assert mirror not in splits and set(splits) == set(repos)
    assert set(splits.values()) <= {"train", "val", "test"}

    other = small_config("process", workers=2)
    other.split = SplitConfig(val=0.4, test=0.3)
    second = tmp_path / "b"
    build_dataset([mirror, *reversed(repos)], second, other)
    reordered = _repo_splits(second)
    assert repos[0] not in reordered and reordered[mirror] == splits[repos[0]]
    assert {r: reordered[r] for r in repos[1:]} == {r: splits[r] for r in repos[1:]}

    build_dataset([*repos, mirror], first, cfg)            # a rerun (resume with nothing to do)
    assert _repo_splits(first) == splits
    doc = json.loads((first / "dataset.json").read_text())
    assert doc["splits"]["val"] == 0.4 and doc["splits"]["test"] == 0.3
    assert sum(v["sessions"] for v in doc["totals"]["splits"].values()) == doc["totals"]["sessions"]


def test_a_dataset_built_before_splits_reads_as_all_train(reference, tmp_path, capsys):
    import shutil

    from sessionforge.commands.stats import _print_tables

    old = tmp_path / "old"
    shutil.copytree(reference, old)
    man = pl.read_parquet(old / "manifest.parquet").drop("split")
    man.write_parquet(old / "manifest.parquet")
    st = dataset_stats(old)
    assert st["splits"]["train"]["sessions"] == man.height and st["splits"]["val"]["sessions"] == 0
    assert "every session reads as train" in st["splits_note"]
    _print_tables(st)
    assert "every session reads as train" in capsys.readouterr().out


def test_stats_tell_repositories_apart_at_80_columns(tmp_path, monkeypatch):
    from sessionforge.commands.stats import _print_tables, distinct_tails

    assert distinct_tails(["/a/x/repo", "/b/y/repo", "/c/other"]) == ["x/repo", "y/repo", "c/other"]
    assert distinct_tails(["/s/a/x/repo", "/s/b/x/repo", "repo"]) == ["a/x/repo", "b/x/repo", "repo"]
    roots = []
    for d in ("team-one/long-directory-name/service", "team-two/long-directory-name/service"):
        make_small_repo(tmp_path / d, commits=1, seed=len(roots))
        roots.append(str(tmp_path / d))
    out = tmp_path / "data"
    build_dataset(roots, out, small_config("local"))
    monkeypatch.setenv("COLUMNS", "80")
    buf = io.StringIO()
    monkeypatch.setattr("rich.console.Console", lambda *a, **k: Console(file=buf, width=80))
    _print_tables(dataset_stats(out))
    text = buf.getvalue()
    assert "team-one/long-directory-name/service" in text and "team-two/long-directory-name/service" in text
    assert max(len(line) for line in text.splitlines()) <= 80
