"""Datasets in object storage (any fsspec URL: ``s3://bucket/prefix``, ``gs://...``): fetched
into a local cache, checked, and then read like any dataset folder.

``dataset.json`` is fetched first (a dataset without it is unfinished and refused), then the
tables, then every shard it lists, several at a time. Each shard lands under a temporary
name and is renamed into the cache only once its sha256 equals the one in ``dataset.json``,
so a shard corrupted in the store, or a download cut off half-way, never reaches a reader.
A shard already in the cache with the recorded size is not fetched again (its digest is
remembered per size and mtime). The cache keeps at most ``limit`` bytes of shards: the
least recently used shards of *other* datasets are evicted first; a dataset larger than the
limit is refused with the sizes named.

Credentials come from the standard places of each filesystem (for S3: ``AWS_*`` variables,
``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for S3-compatible stores); they are never
logged nor written anywhere by sessionforge.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.layout import DATASET_JSON, ERRORS, MANIFEST, SHARDS_DIR, SKIPPED
from sessionforge.files import atomic_output, sha256_file, write_json_atomic

DEFAULT_CACHE = Path(os.environ.get("SESSIONFORGE_CACHE", Path.home() / ".cache" / "sessionforge" / "datasets"))
DEFAULT_LIMIT = 100 * 2**30   # 100 GiB of shards; SESSIONFORGE_CACHE_LIMIT (bytes) overrides it
FETCH_THREADS = 4
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str | os.PathLike) -> bool:
    """Whether ``text`` names a dataset by URL (``file://`` included) rather than a local path."""
    return bool(_URL.match(str(text)))


def open_store(url: str) -> tuple[Any, str]:
    """``(fsspec filesystem, path inside it)`` for ``url``, or a clear error when no fsspec
    implementation handles its scheme (e.g. s3 without the ``cloud`` extra)."""
    import fsspec  # why: only URLs need it (~0.1 s with its protocol registry)

    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DatasetError(f"{url}: no filesystem for this URL ({exc}); for s3:// and gs:// install "
                           "the cloud extra: pip install 'sessionforge[cloud]'") from None
    return fs, path.rstrip("/")


def store_error(url: str, exc: BaseException) -> DatasetError:
    """One readable line for a failure talking to a store (missing bucket, denied credentials,
    network), without credentials or a traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "Forbidden" in text or "403" in text:
        why = f"access denied ({text}); check the credentials for this store"
    elif isinstance(exc, FileNotFoundError) or "NoSuchBucket" in text:
        why = f"not found ({text})"
    else:
        why = f"{type(exc).__name__}: {text}"
    return DatasetError(f"{url}: {why}")


def cache_folder(url: str, cache_dir: str | Path | None = None) -> Path:
    """The local folder a dataset URL is cached in: readable tail + a hash of the whole URL."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1])[:40] or "dataset"
    return Path(cache_dir or DEFAULT_CACHE) / f"{tail}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def fetch_dataset(url: str, cache_dir: str | Path | None = None, *, limit: int | None = None,
                  progress: Callable[[str, int], None] | None = None) -> Path:
    """Fetch the dataset at ``url`` into the local cache and return its local folder.

    ``progress(shard name, bytes)`` is called after each shard is in place. Raises
    :class:`DatasetError` (one line naming the URL and the cause) for an unfinished dataset,
    a store that cannot be read, or a shard whose sha256 differs from ``dataset.json``.
    """
    if url.startswith("file://"):
        return Path(url[len("file://"):])
    fs, root = open_store(url)
    local = cache_folder(url, cache_dir)
    (local / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
    try:
        doc_bytes = fs.cat_file(f"{root}/{DATASET_JSON}")
    except FileNotFoundError:
        if _exists(fs, f"{root}/.build") or _exists(fs, f"{root}/{SHARDS_DIR}"):
            raise DatasetError(f"{url}: not a finished dataset (no dataset.json: a build that has not "
                               "finished); run the same build-dataset command again to finish it") from None
        raise DatasetError(f"{url}: not a sessionforge dataset (no dataset.json)") from None
    except Exception as exc:  # fsspec backends raise many types: one line, never a traceback
        raise store_error(url, exc) from None
    try:
        doc = json.loads(doc_bytes)
        listed: dict[str, dict[str, Any]] = doc["shards"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{url}/{DATASET_JSON}: cannot read its shard list ({exc})") from None
    for name in (MANIFEST, ERRORS, SKIPPED):
        try:
            data = fs.cat_file(f"{root}/{name}")
        except FileNotFoundError:
            continue
        except Exception as exc:
            raise store_error(url, exc) from None
        with atomic_output(local / name) as f:
            f.write(data)
    total = sum(int(v["bytes"]) for v in listed.values())
    if limit is None:
        env = os.environ.get("SESSIONFORGE_CACHE_LIMIT")
        limit = int(env) if env and env.isdigit() else DEFAULT_LIMIT
    cache = ShardCache(Path(cache_dir or DEFAULT_CACHE), limit)
    cache.make_room(total, keep=local, url=url)
    names = sorted(listed)
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        for name, size in pool.map(lambda n: _fetch_shard(fs, url, root, local, n, listed[n]), names):
            if progress:
                progress(name, size)
    # dataset.json last: its presence in the cache means every shard above is in place.
    with atomic_output(local / DATASET_JSON) as f:
        f.write(doc_bytes)
    cache.touch(local)
    return local


def _exists(fs: Any, path: str) -> bool:
    try:
        return bool(fs.exists(path))
    except Exception:  # a store that cannot say: treat as absent, the caller's message still holds
        return False


def _fetch_shard(fs: Any, url: str, root: str, local: Path, name: str, want: dict[str, Any]) -> tuple[str, int]:
    if "/" in name or not name.endswith(".tss"):
        raise DatasetError(f"{url}/{DATASET_JSON}: {name!r} is not a shard file name")
    dest = local / SHARDS_DIR / name
    memo = dest.with_name(f".{name}.sha256")
    if dest.is_file() and dest.stat().st_size == want["bytes"]:
        st = dest.stat()
        key = f"{st.st_size}|{st.st_mtime_ns}|{want['sha256']}"
        if memo.is_file() and memo.read_text() == key:
            return name, st.st_size
        if sha256_file(dest) == want["sha256"]:
            memo.write_text(key)
            return name, st.st_size
    try:
        with atomic_output(dest) as f:
            digest = hashlib.sha256()
            with fs.open(f"{root}/{SHARDS_DIR}/{name}", "rb") as src:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    f.write(block)
            if digest.hexdigest() != want["sha256"]:
                # Raising inside atomic_output removes the temporary file: nothing corrupt is kept.
                raise DatasetError(f"{url}/{SHARDS_DIR}/{name}: sha256 {digest.hexdigest()[:16]}... does not "
                                   "match dataset.json (corrupt or replaced in the store)")
    except DatasetError:
        raise
    except Exception as exc:
        raise store_error(f"{url}/{SHARDS_DIR}/{name}", exc) from None
    st = dest.stat()
    memo.write_text(f"{st.st_size}|{st.st_mtime_ns}|{want['sha256']}")
    return name, st.st_size


class ShardCache:
    """The cache folder's size budget: datasets are evicted whole, least recently used first."""

    INDEX = "cache-index.json"

    def __init__(self, root: Path, limit: int) -> None:
        self.root, self.limit = root, limit

    def _index(self) -> dict[str, float]:
        try:
            data = json.loads((self.root / self.INDEX).read_text())
            return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def touch(self, folder: Path) -> None:
        """Record that ``folder`` was used now."""
        index = self._index()
        index[folder.name] = time.time()
        write_json_atomic(self.root / self.INDEX, index)

    def make_room(self, need: int, keep: Path, url: str) -> None:
        """Evict other cached datasets, least recently used first, until ``need`` bytes fit."""
        if need > self.limit:
            raise DatasetError(f"{url}: its shards take {need:,} bytes, more than the cache limit of "
                               f"{self.limit:,} (raise SESSIONFORGE_CACHE_LIMIT, in bytes, or choose another --cache-dir)")
        index = self._index()
        folders = [p for p in self.root.iterdir() if p.is_dir() and p != keep] if self.root.is_dir() else []
        used = sum(_size(p) for p in folders)
        for p in sorted(folders, key=lambda p: index.get(p.name, 0.0)):
            if used + need <= self.limit:
                break
            size = _size(p)
            for f in sorted(p.rglob("*"), reverse=True):
                f.unlink() if f.is_file() else f.rmdir()
            p.rmdir()
            used -= size
            index.pop(p.name, None)
        write_json_atomic(self.root / self.INDEX, index)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def local_dataset(data: str | os.PathLike, cache_dir: str | Path | None = None, *, limit: int | None = None,
                  progress: Callable[[str, int], None] | None = None) -> Path:
    """``data`` as a local path: a URL is fetched (see :func:`fetch_dataset`), a path is kept.

    A string with a scheme is never taken for a local path: ``s3:/x`` typed by mistake is not a
    folder named ``s3:``.
    """
    text = str(data)
    if is_url(text):
        return fetch_dataset(text, cache_dir, limit=limit, progress=progress)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", text):
        raise DatasetError(f"{text}: looks like a URL with one slash; write {text.split(':', 1)[0]}://...")
    return Path(text)
