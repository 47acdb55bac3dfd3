"""Writing and checking files safely: atomic replacement and content digests.

Every output sessionforge writes (shards, tables, exports, checkpoints, tokenizers) goes
through these helpers, so that a reader sees either the old file or the whole new one,
never a half-written file, even after a crash, ``kill -9`` or Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator


def temporary_name(path: Path) -> Path:
    """A hidden, unique sibling of ``path`` to write into before renaming it into place.

    Hidden (leading dot) so that no reader that lists a folder picks it up; unique so that
    two writers (a retried task and its stale first attempt) never share a temporary file.
    """
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    with atomic_output(path) as f:
        f.write(data)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as stable (sorted-keys) JSON."""
    write_atomic(path, (json.dumps(obj, sort_keys=True, indent=1) + "\n").encode())


@contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary sibling of ``path`` for binary writing; rename it onto ``path`` on success.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is left as it
    was: there is never a partial output under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path for a writer that takes a file name (e.g. a plotting or
    image library); it is renamed onto ``path`` if the block succeeds and removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix last: libraries such as Pillow and matplotlib choose the format from it.
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
