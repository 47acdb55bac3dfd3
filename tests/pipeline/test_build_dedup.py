"""File dedup: content another file already typed earlier in the build is skipped, decided in
the build's order (so the same under any executor), exact and near."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import polars as pl
import pytest

from buildkit import small_config, snapshot
from sessionforge.pipeline.dedup import decide
from sessionforge.pipeline.runner import build_dataset

ENV = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b",
       "GIT_AUTHOR_DATE": "2020-01-01T00:00:00", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00", "PATH": "/usr/bin:/bin"}


def _lib(seed: int, lines: int = 40) -> str:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "value", "count", "item", "node", "left", "right"]
    return "".join(f"def f{i}({rng.choice(words)}, {rng.choice(words)}):\n    return {rng.choice(words)} + {i}\n"
                   for i in range(lines // 2))


def _repo(path: Path, commits: list[dict[str, str]]) -> str:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=ENV)
    for files in commits:
        for name, text in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=ENV)
        subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "c"], check=True, env=ENV)
    return str(path)


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("dedup")
    lib = _lib(1)
    near = lib.replace("return", "return  ", 1)    # one token changed: a near copy
    a = _repo(root / "app", [{"main.py": "print('app')\n", "lib/util.py": lib},
                             {"main.py": "print('app 2')\n"}])
    b = _repo(root / "other", [{"run.py": "print('other')\n", "third/util.py": lib},       # exact copy
                               {"copy.py": lib, "run.py": "print('other 2')\n"},          # another path, same blob
                               {"near.py": near}])
    return [a, b]


def _skipped(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "skipped.parquet").filter(pl.col("reason") == "duplicate_file")


def _cfg(executor: str, mode: str, workers: int | None = None):
    cfg = small_config(executor, workers)
    cfg.dedup_files = mode
    cfg.replay.files.enabled = False   # the generated library is short and plain; keep every file
    return cfg


def test_exact_dedup_types_each_content_once_in_input_order(repos, tmp_path):
    out = tmp_path / "local"
    build_dataset(repos, out, _cfg("local", "exact"))
    dup = _skipped(out)
    # The first repository types lib/util.py; the second's copies (two paths) are skipped.
    assert sorted(zip(dup["repository"], dup["path"])) == [(repos[1], "copy.py"), (repos[1], "third/util.py")]
    # Same decisions on the process pool with two workers: byte-identical datasets.
    other = tmp_path / "pool"
    build_dataset(repos, other, _cfg("process", "exact", workers=2))
    assert snapshot(other) == snapshot(out)
    # The order decides who types: reversed inputs make the other repository the owner.
    rev = tmp_path / "rev"
    build_dataset(list(reversed(repos)), rev, _cfg("local", "exact"))
    assert sorted(zip(*[_skipped(rev)[c] for c in ("repository", "path")])) == [
        (repos[0], "lib/util.py"), (repos[1], "copy.py")]
    # Off: nothing is skipped as a duplicate.
    off = tmp_path / "off"
    build_dataset(repos, off, _cfg("local", "off"))
    assert _skipped(off).height == 0


def test_near_dedup_also_skips_a_near_copy(repos, tmp_path):
    pytest.importorskip("datasketch")
    out = tmp_path / "near"
    build_dataset(repos, out, _cfg("local", "near"))
    paths = sorted(_skipped(out)["path"].to_list())
    assert paths == ["copy.py", "near.py", "third/util.py"]


def test_a_file_retyping_its_own_content_is_not_a_duplicate():
    skips = decide([("s0", "r", [("a.py", "b1"), ("a.py", "b2"), ("a.py", "b1")]),   # a revert
                    ("s1", "r", [("b.py", "b1")]),                                   # another path
                    ("s2", "q", [("a.py", "b2")])], "exact", 0.85)                  # another repository
    assert skips == {"s0": frozenset(), "s1": frozenset({"b.py\0b1"}), "s2": frozenset({"a.py\0b2"})}


def test_verify_deep_replays_a_dedup_build_again(repos, tmp_path):
    from sessionforge.pipeline.verify import verify_dataset

    out = tmp_path / "deep"
    build_dataset(repos, out, _cfg("local", "exact"))
    sessions = pl.read_parquet(out / "manifest.parquet").height
    rep = verify_dataset(out, deep=sessions)   # every session, those after a skipped copy included
    assert rep.ok, rep.problems
    assert rep.deep_sessions == sessions
