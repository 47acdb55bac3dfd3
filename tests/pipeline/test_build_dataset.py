"""build-dataset end to end with the real replay pipeline: executors agree byte for byte, bad
repositories become error rows, URL and manifest inputs, kill -9 + resume equals a clean build."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pygit2
import pytest

from gitfactory import RepoFactory
from buildkit import BUILD_ARGS, make_small_repo, sf_command, small_config, snapshot
from sessionforge.pipeline.runner import build_dataset
from sessionforge.pipeline.state import BuildStateError
from sessionforge.pipeline.verify import verify_dataset
from sessionforge.formats import open_shard


def test_reference_build_has_the_promised_layout(reference, repos):
    doc = json.loads((reference / "dataset.json").read_text())
    man = pl.read_parquet(reference / "manifest.parquet")
    t = doc["totals"]
    assert (t["repositories"], t["repositories_ok"], t["repositories_failed"]) == (3, 3, 0)
    assert t["commits"] == 9 + 5 + 3 and t["frames"] == man["frames"].sum() > 0
    assert t["skipped"] == {"binary": 3}                                # one binary file per repository
    assert man["skipped_binary"].sum() == 3 and man["lossless_failures"].sum() == 0
    # dataset order: input order, slice, session within the slice
    keys = man.select("input_order", "slice", "slice_session").rows()
    assert keys == sorted(keys) and man["repository"].unique(maintain_order=True).to_list() == repos
    assert man.filter(pl.col("repository") == repos[0])["slice"].unique().sort().to_list() == [0, 1]
    # several sessions per slice and shards cut by size inside a slice
    assert man.group_by("repository", "slice").len()["len"].max() >= 2
    assert len(doc["shards"]) > man.select("repository", "slice").unique().height
    assert sorted(p.name for p in (reference / "shards").iterdir()) == sorted(doc["shards"])
    for name in doc["shards"]:
        with open_shard(reference / "shards" / name) as r:
            rows = man.filter(pl.col("shard") == name).sort("index")
            assert [s.frames for s in r.sessions] == rows["frames"].to_list()
            assert [s.meta["first_commit"] for s in r.sessions] == rows["first_commit"].to_list()
            assert {s.meta["repo"] for s in r.sessions} <= set(repos)
    assert doc["config"]["replay"]["rows"] == 16 and "run" not in doc["config"]
    rep = verify_dataset(reference, deep=3)
    assert rep.ok, rep.problems
    assert rep.frames == t["frames"] and rep.deep_sessions == 3


def test_process_pool_and_ray_give_the_identical_dataset(reference, repos, tmp_path):
    want = snapshot(reference)
    for executor in ("process", "ray"):
        out = tmp_path / executor
        res = build_dataset(repos, out, small_config(executor, workers=2))
        assert res.doc["build"]["executor"] == executor
        assert snapshot(out) == want, f"{executor} build differs from the local one"


def _corrupt_newest_blob(path: Path) -> tuple[Path, bytes]:
    """Overwrite the loose object of the blob the last commit wrote with garbage; returns the
    object's path and its original bytes."""
    repo = pygit2.Repository(str(path))
    head = repo.head.peel(pygit2.Commit)
    diff = repo.diff(head.parents[0].tree, head.tree)
    oid = str(next(iter(diff)).delta.new_file.id)
    obj = Path(repo.path) / "objects" / oid[:2] / oid[2:]
    obj.chmod(0o644)
    original = obj.read_bytes()
    obj.write_bytes(b"this is not a zlib stream")
    return obj, original


def test_bad_repositories_become_error_rows_and_the_rest_builds(repos, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "readme.txt").write_text("not a repository")
    empty = tmp_path / "empty"
    empty_factory = RepoFactory(empty)      # HEAD -> refs/heads/main, no commit yet
    corrupt = tmp_path / "corrupt"
    make_small_repo(corrupt, commits=3, seed=7)
    obj, original = _corrupt_newest_blob(corrupt)
    inputs = [str(plain), repos[2], str(empty), str(corrupt)]
    out = tmp_path / "data"
    res = build_dataset(inputs, out, small_config("local"))
    errors = pl.read_parquet(out / "errors.parquet")
    by_repo = {Path(r["repository"]).name: r for r in errors.iter_rows(named=True)}
    assert set(by_repo) == {"plain", "empty", "corrupt"}
    assert by_repo["plain"]["stage"] == "input"
    assert by_repo["empty"]["stage"] == "plan" and "no commits" in by_repo["empty"]["message"]
    assert by_repo["corrupt"]["stage"] in ("plan", "replay") and by_repo["corrupt"]["message"]
    man = pl.read_parquet(out / "manifest.parquet")
    assert man["repository"].unique().to_list() == [repos[2]] and man["frames"].sum() > 0
    assert res.doc["totals"]["repositories_failed"] == 3 and res.doc["totals"]["repositories_ok"] == 1
    assert verify_dataset(out).ok
    # --strict turns the failures into a non-zero exit; the dataset is still complete
    proc = subprocess.run([*sf_command(), "build-dataset", *inputs, "--out", str(out), *BUILD_ARGS,
                           "--executor", "local", "--strict", "-q"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "3 repositories failed (--strict)" in proc.stderr and "Traceback" not in proc.stderr
    assert "build summary" in proc.stdout
    # repaired repositories: planning is redone on every run, a replay failure is kept until --retry-failed
    empty_factory.commit({"a.txt": "now\n"}, "first")
    obj.write_bytes(original)
    res = build_dataset(inputs, out, small_config("local"))
    assert {Path(r).name for r in pl.read_parquet(out / "errors.parquet")["repository"]} == {"plain", "corrupt"}
    res = build_dataset(inputs, out, small_config("local"), retry_failed=True)
    assert pl.read_parquet(out / "errors.parquet")["repository"].to_list() == [str(plain.absolute())]
    assert res.doc["totals"]["repositories_ok"] == 3 and verify_dataset(out).ok


def test_file_url_and_manifest_inputs_with_filters(repos, tmp_path):
    url = Path(repos[0]).as_uri()
    man = tmp_path / "repos.csv"
    pl.DataFrame({"url": [url, None, None], "path": [None, repos[1], repos[2]],
                  "license": ["MIT", "GPL-3.0", "mit"], "stars": [10, 99, 3]}).write_csv(man)
    out = tmp_path / "data"
    cfg = small_config("local")
    cfg.filters.license = ["MIT"]
    res = build_dataset([str(man)], out, cfg)
    m = pl.read_parquet(out / "manifest.parquet")
    assert m["repository"].unique(maintain_order=True).to_list() == [url, repos[2]]
    assert m["license"].unique(maintain_order=True).to_list() == ["MIT", "mit"]
    assert res.doc["totals"]["filtered_out"] == 1 and res.doc["inputs"] == [url, repos[2]]
    clones = list((out / ".cache" / "repos").iterdir())
    assert len(clones) == 1 and pygit2.Repository(str(clones[0])).is_bare
    with open_shard(out / "shards" / m["shard"][0]) as r:
        assert r.sessions[0].meta["repo"] == url          # the URL, not the cache folder
    rep = verify_dataset(out, deep=2)                      # re-replays from the clone cache
    assert rep.ok and rep.deep_sessions == 2, rep.problems


def _kill_when(proc: subprocess.Popen, out: Path, markers: int, timeout: float = 120) -> int:
    """SIGKILL the build's process group once ``markers`` slices are marked done."""
    deadline = time.monotonic() + timeout
    tasks = out / ".build" / "done"
    while time.monotonic() < deadline:
        done = len(list(tasks.glob("*.json"))) if tasks.is_dir() else 0
        if done >= markers or proc.poll() is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return done
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the build made no progress")


def test_killed_build_resumes_to_the_same_dataset(repos, tmp_path):
    args = [*BUILD_ARGS, "--slice-commits", "2", "--executor", "process", "--workers", "2", "-q"]
    clean = tmp_path / "clean"
    cfg = small_config("local", slice_commits=2)
    build_dataset(repos, clean, cfg)
    total = len(list((clean / ".build" / "done").glob("*.json")))       # 5 + 3 + 2 slices
    assert total == 10
    out = tmp_path / "killed"
    cmd = [*sf_command(), "build-dataset", *repos, "--out", str(out), *args]
    for markers in (1, 4):        # kill twice, at different points
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        done = _kill_when(proc, out, markers)
        assert done < total, "the build finished before it could be killed"
        assert not (out / "dataset.json").exists()                     # written last
        for p in (out / "shards").iterdir():                           # only complete shards are visible
            assert not p.name.startswith(".")
            with open_shard(p) as r:
                assert r.verify() > 0
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "dataset.json").read_text())
    assert 0 < doc["build"]["slices_run"] < total                       # only the missing work was redone
    assert snapshot(out) == snapshot(clean)
    # a finished build run again does nothing and changes nothing
    build_dataset(repos, out, cfg)
    assert json.loads((out / "dataset.json").read_text())["build"]["slices_run"] == 0
    assert snapshot(out) == snapshot(clean)


def test_other_config_in_existing_folder_is_refused_unless_overwrite(reference, repos, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(reference, out)
    cfg = small_config("local")
    cfg.replay.rows = 20
    with pytest.raises(BuildStateError, match="different config.*replay.rows"):
        build_dataset(repos, out, cfg)
    proc = subprocess.run([*sf_command(), "build-dataset", *repos, "--out", str(out), *BUILD_ARGS,
                           "--frame-size", "20x60", "-q"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "--overwrite" in proc.stderr
    res = build_dataset(repos[2:], out, cfg, overwrite=True)
    assert res.doc["config"]["replay"]["rows"] == 20 and res.doc["inputs"] == repos[2:]
    assert verify_dataset(out).ok


def test_rerun_after_new_commits_redoes_only_the_grown_slice(tmp_path):
    f = make_small_repo(tmp_path / "repo", commits=8, seed=5)              # slices [0, 6) and [6, 8)
    out = tmp_path / "data"
    build_dataset([str(f.path)], out, small_config("local"))
    f.commit({"f0.txt": "grown\n"}, "new work")                           # the last slice is now [6, 9)
    res = build_dataset([str(f.path)], out, small_config("local"))
    assert res.slices_run == 1 and res.doc["totals"]["commits"] == 9
    fresh = tmp_path / "fresh"
    build_dataset([str(f.path)], fresh, small_config("local"))
    assert snapshot(out) == snapshot(fresh)
