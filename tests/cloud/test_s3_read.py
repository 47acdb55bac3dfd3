"""Reading a dataset from s3:// (a local S3 server): stats and verify fetch, check and cache;
a shard corrupted in the store is refused by its checksum; store errors are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sessionforge.dataset.remote import cache_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))
from buildkit import BUILD_ARGS, make_small_repo, sf_command  # noqa: E402


@pytest.fixture(scope="module")
def local_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("s3src")
    make_small_repo(root / "repo", commits=4, seed=21)
    out = root / "data"
    proc = subprocess.run([*sf_command(), "build-dataset", str(root / "repo"), "--out", str(out), *BUILD_ARGS, "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def _upload(fs, local: Path, url: str) -> None:
    for f in sorted(local.rglob("*")):
        rel = f.relative_to(local)
        if f.is_file() and not rel.parts[0].startswith("."):
            fs.put_file(str(f), f"{url}/{rel.as_posix()}")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*sf_command(), *args], capture_output=True, text=True, timeout=300)


def test_stats_and_verify_read_a_dataset_url(s3, local_dataset, tmp_path):
    fs, bucket = s3
    url = f"s3://{bucket}/datasets/v1"
    _upload(fs, local_dataset, url)
    cache = tmp_path / "cache"
    got = _cli("stats", url, "--json", "--cache-dir", str(cache))
    assert got.returncode == 0, got.stderr
    want = _cli("stats", str(local_dataset), "--json")
    assert json.loads(got.stdout)["totals"] == json.loads(want.stdout)["totals"]
    ok = _cli("verify", url, "--cache-dir", str(cache))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: ")
    # The cached copy holds the same shards, byte for byte.
    local = cache_folder(url, cache)
    for shard in (local_dataset / "shards").iterdir():
        assert (local / "shards" / shard.name).read_bytes() == shard.read_bytes()


def test_a_shard_corrupted_in_the_store_is_refused(s3, local_dataset, tmp_path):
    fs, bucket = s3
    url = f"s3://{bucket}/ds"
    _upload(fs, local_dataset, url)
    name = sorted(p.name for p in (local_dataset / "shards").iterdir())[0]
    data = bytearray((local_dataset / "shards" / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    fs.pipe_file(f"{url}/shards/{name}", bytes(data))
    got = _cli("verify", url, "--cache-dir", str(tmp_path / "cache"))
    assert got.returncode == 1
    assert f"shards/{name}: sha256" in got.stderr and "does not match dataset.json" in got.stderr
    assert "Traceback" not in got.stderr and len(got.stderr.strip().splitlines()) == 1
    assert not (cache_folder(url, tmp_path / "cache") / "shards" / name).exists()


def test_store_errors_are_one_clear_line(s3, tmp_path):
    fs, bucket = s3
    missing = _cli("stats", f"s3://no-such-bucket-{bucket}/ds", "--cache-dir", str(tmp_path / "c"))
    assert missing.returncode == 1 and "not" in missing.stderr and "Traceback" not in missing.stderr
    fs.pipe_file(f"{bucket}/half/shards/x.tss", b"partial")   # a build that never finished
    unfinished = _cli("stats", f"s3://{bucket}/half", "--cache-dir", str(tmp_path / "c"))
    assert unfinished.returncode == 1 and "not a finished dataset" in unfinished.stderr
    typo = _cli("stats", "s3:/bucket/ds")
    assert typo.returncode == 1 and "s3://" in typo.stderr and not Path("s3:").exists()


def test_denied_credentials_are_one_clear_line(s3_denied, tmp_path):
    got = _cli("stats", "s3://some-bucket/ds", "--cache-dir", str(tmp_path / "c"))
    assert got.returncode == 1
    assert "access denied" in got.stderr or "InvalidAccessKeyId" in got.stderr, got.stderr
    assert "Traceback" not in got.stderr and "testing" not in got.stderr.replace("s3://", "")


def test_view_verbs_read_a_dataset_url(s3, local_dataset, tmp_path):
    fs, bucket = s3
    url = f"s3://{bucket}/view"
    _upload(fs, local_dataset, url)
    cache = str(tmp_path / "cache")
    cast = tmp_path / "s.cast"
    got = _cli("export", url, "--session", "0", "-o", str(cast), "--cache-dir", cache)
    assert got.returncode == 0, got.stderr
    want = tmp_path / "local.cast"
    assert _cli("export", str(local_dataset), "--session", "0", "-o", str(want)).returncode == 0
    assert cast.read_bytes() == want.read_bytes()
    name = sorted(p.name for p in (local_dataset / "shards").iterdir())[0]
    shown = _cli("inspect", f"{url}/shards/{name}", "--json", "--cache-dir", cache)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["sessions"] == json.loads(
        _cli("inspect", str(local_dataset / "shards" / name), "--json").stdout)["sessions"]
    png = _cli("render", url, "--session", "0", "--frames", "0", "-o", str(tmp_path / "png"), "--cache-dir", cache)
    assert png.returncode == 0, png.stderr
    assert list((tmp_path / "png").iterdir())
