"""The local cache of dataset URLs (fsspec's memory:// filesystem stands in for a store):
fetched shards are checked, reused, and evicted least recently used first under a byte limit."""

from __future__ import annotations

import hashlib
import json

import fsspec
import pytest

from sessionforge.dataset import DatasetError
from sessionforge.dataset.remote import cache_folder, fetch_dataset


def _put_dataset(url: str, shards: dict[str, bytes]) -> None:
    fs, root = fsspec.core.url_to_fs(url)
    doc = {"format": "sessionforge-dataset", "format_version": 1,
           "shards": {n: {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)} for n, b in shards.items()}}
    for name, data in shards.items():
        fs.pipe_file(f"{root}/shards/{name}", data)
    fs.pipe_file(f"{root}/dataset.json", json.dumps(doc).encode())


def test_fetch_checks_reuses_and_evicts_by_recency(tmp_path):
    a, b = "memory://cache-test/a", "memory://cache-test/b"
    _put_dataset(a, {"x.tss": b"x" * 600})
    _put_dataset(b, {"y.tss": b"y" * 600})
    cache = tmp_path / "cache"
    local_a = fetch_dataset(a, cache, limit=1000)
    assert (local_a / "shards" / "x.tss").read_bytes() == b"x" * 600 and (local_a / "dataset.json").is_file()
    mtime = (local_a / "shards" / "x.tss").stat().st_mtime_ns
    assert fetch_dataset(a, cache, limit=1000) == local_a                 # reused, not fetched again
    assert (local_a / "shards" / "x.tss").stat().st_mtime_ns == mtime
    fetch_dataset(b, cache, limit=1000)                                    # a and b do not fit together
    assert not cache_folder(a, cache).exists() and cache_folder(b, cache).exists()
    with pytest.raises(DatasetError, match="more than the cache limit"):
        fetch_dataset(a, cache, limit=100)


def test_a_corrupt_or_unfinished_dataset_is_refused(tmp_path):
    url = "memory://cache-test/bad"
    _put_dataset(url, {"z.tss": b"z" * 50})
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe_file(f"{root}/shards/z.tss", b"Z" * 50)                         # same size, other bytes
    with pytest.raises(DatasetError, match="z.tss: sha256 .* does not match dataset.json"):
        fetch_dataset(url, tmp_path / "c")
    assert not (cache_folder(url, tmp_path / "c") / "shards" / "z.tss").exists()
    fs.pipe_file("cache-test/half/shards/q.tss", b"q")
    with pytest.raises(DatasetError, match="not a finished dataset"):
        fetch_dataset("memory://cache-test/half", tmp_path / "c")
