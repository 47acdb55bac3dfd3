"""build-dataset --out s3://... (a local S3 server): the same bytes as a local build, resumable
after kill -9, on the process pool and on Ray; store errors are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from buildkit import BUILD_ARGS, make_small_repo, sf_command  # noqa: E402


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("s3repos")
    out = []
    for k, n in enumerate((10, 7, 4)):
        make_small_repo(root / f"r{k}", commits=n, seed=30 + k)
        out.append(str(root / f"r{k}"))
    return out


@pytest.fixture(scope="module")
def local_reference(repos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("s3ref") / "data"
    proc = subprocess.run([*sf_command(), "build-dataset", *repos, "--out", str(out), *BUILD_ARGS, "-q"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def _build(repos, out, *extra, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*sf_command(), "build-dataset", *repos, "--out", out, *BUILD_ARGS, "-q", *extra],
                          capture_output=True, text=True, timeout=600, **kw)


def _same_as_local(fs, url: str, local: Path) -> None:
    """The store holds exactly the local build: every shard byte, manifest (but timing), errors."""
    root = url.removeprefix("s3://")
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/shards"))
    assert names == sorted(p.name for p in (local / "shards").iterdir())
    for name in names:
        assert fs.cat_file(f"{root}/shards/{name}") == (local / "shards" / name).read_bytes(), name
    doc = json.loads(fs.cat_file(f"{root}/dataset.json"))
    want = json.loads((local / "dataset.json").read_text())
    assert doc["shards"] == want["shards"] and doc["totals"] == want["totals"]
    import io
    got = pl.read_parquet(io.BytesIO(fs.cat_file(f"{root}/manifest.parquet"))).drop("seconds")
    assert got.equals(pl.read_parquet(local / "manifest.parquet").drop("seconds"))


def test_build_to_s3_equals_a_local_build_and_reads_back(s3, repos, local_reference, tmp_path):
    fs, bucket = s3
    url = f"s3://{bucket}/ds"
    proc = _build(repos, url, "--executor", "process", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    _same_as_local(fs, url, local_reference)
    assert not fs.exists(f"{bucket}/ds/.build/staging")          # workers stage locally
    verify = subprocess.run([*sf_command(), "verify", url, "--cache-dir", str(tmp_path / "c")],
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stderr
    again = _build(repos, url)                                     # a rerun has nothing to do
    assert again.returncode == 0, again.stderr
    assert json.loads(fs.cat_file(f"{bucket}/ds/dataset.json"))["build"]["slices_run"] == 0


def test_killed_build_to_s3_resumes_to_the_same_bytes(s3, repos, local_reference):
    fs, bucket = s3
    url = f"s3://{bucket}/killed"
    cmd = [*sf_command(), "build-dataset", *repos, "--out", url, *BUILD_ARGS, "-q", "--executor", "process",
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if fs.ls(f"{bucket}/killed/.build/done", refresh=True):
                break
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not fs.exists(f"{bucket}/killed/dataset.json")
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    _same_as_local(fs, url, local_reference)


def test_ray_build_to_s3_needs_no_shared_folder(s3, repos, local_reference):
    fs, bucket = s3
    url = f"s3://{bucket}/ray"
    proc = _build(repos, url, "--executor", "ray", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    _same_as_local(fs, url, local_reference)


def test_build_store_errors_are_one_line(s3_denied, repos, tmp_path):
    denied = _build(repos[:1], "s3://some-bucket/ds")
    assert denied.returncode == 1 and "access denied" in denied.stderr, denied.stderr
    assert "Traceback" not in denied.stderr
    typo = _build(repos[:1], "s3:/bucket/ds", cwd=tmp_path)
    assert typo.returncode == 1 and "s3://" in typo.stderr and not (tmp_path / "s3:").exists()


def test_an_input_manifest_may_be_a_url(s3, repos, tmp_path):
    fs, bucket = s3
    fs.pipe_file(f"{bucket}/lists/repos.csv", ("path,license\n" + "".join(f"{r},MIT\n" for r in repos[:2])).encode())
    out = tmp_path / "data"
    proc = _build([f"s3://{bucket}/lists/repos.csv"], str(out), "--license", "MIT")
    assert proc.returncode == 0, proc.stderr
    man = pl.read_parquet(out / "manifest.parquet")
    assert sorted(man["repository"].unique().to_list()) == sorted(repos[:2])
    fs.pipe_file(f"{bucket}/lists/rel.csv", b"path\nsome/relative/repo\n")
    bad = _build([f"s3://{bucket}/lists/rel.csv"], str(tmp_path / "d2"))
    assert bad.returncode == 1 and "relative path in a manifest read from a URL" in bad.stderr
