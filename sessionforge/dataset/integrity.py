"""Integrity of a finished dataset against its ``dataset.json``: which shards are there, with
the size and sha256 the build recorded.

``verify`` reports every problem; ``train`` and ``eval`` refuse to start on any. The sha256 of
a shard can be remembered per (name, size, mtime) in a small JSON file, so that a resumed
training run does not hash the whole dataset again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.layout import SHARDS_DIR, shard_files_on_disk
from sessionforge.dataset.tables import DatasetTables
from sessionforge.files import sha256_file, write_json_atomic
from sessionforge.words import count


@dataclass
class ShardCheck:
    """The result of comparing a dataset's shard files with dataset.json."""

    checked: list[str] = field(default_factory=list)   # names whose size and sha256 matched
    problems: list[str] = field(default_factory=list)  # one readable line each, naming the file

    @property
    def ok(self) -> bool:
        return not self.problems


def check_shards(tables: DatasetTables, *, progress: Callable[[str], None] | None = None,
                 remembered: Path | None = None) -> ShardCheck:
    """Compare every shard listed in dataset.json with the file on disk (size, then sha256), and
    report shards in ``shards/`` that dataset.json does not list.

    ``remembered``: a JSON file of digests already computed, keyed by shard path, size and
    mtime; it is read if present and rewritten (atomically) with this call's digests.
    """
    root = tables.root
    listed = tables.listed_shards
    out = ShardCheck()
    for extra in sorted({p.name for p in shard_files_on_disk(root)} - set(listed)):
        out.problems.append(f"{SHARDS_DIR}/{extra}: not listed in dataset.json")
    memo = _read_memo(remembered)
    fresh: dict[str, str] = {}
    for name in sorted(listed):
        path = root / SHARDS_DIR / name
        if progress:
            progress(name)
        if not path.is_file():
            out.problems.append(f"{SHARDS_DIR}/{name}: missing")
            continue
        st = path.stat()
        want = listed[name]
        if st.st_size != want["bytes"]:
            out.problems.append(f"{SHARDS_DIR}/{name}: {st.st_size} bytes, dataset.json says {want['bytes']}")
            continue
        key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = memo.get(key) or sha256_file(path)
        if digest != want["sha256"]:
            out.problems.append(f"{SHARDS_DIR}/{name}: sha256 {digest[:16]}... does not match dataset.json "
                                "(corrupt or replaced shard)")
            continue
        fresh[key] = digest
        out.checked.append(name)
    if remembered is not None:
        write_json_atomic(remembered, fresh)
    return out


def require_intact(tables: DatasetTables, *, remembered: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> None:
    """Raise :class:`DatasetError` naming the first problem (and how many more) unless every
    listed shard is present with its recorded size and sha256."""
    check = check_shards(tables, progress=progress, remembered=remembered)
    if not check.ok:
        more = f" (and {count(len(check.problems) - 1, 'more problem')})" if len(check.problems) > 1 else ""
        raise DatasetError(f"{tables.root}: {check.problems[0]}{more}; "
                           f"run `sessionforge verify {tables.root}` for details")


def _read_memo(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # a damaged memo only costs a rehash
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


__all__ = ["ShardCheck", "check_shards", "require_intact"]
