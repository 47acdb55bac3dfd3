"""Bare clones of repository URLs, cached on disk so a resumed build does not clone again.

A clone goes to a temporary folder next to its final place and is renamed only when
complete, so a build killed mid-clone never leaves a half repository that a later run
would trust. The cache key is the URL, so the same URL always maps to the same folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path

import pygit2

from sessionforge.errors import SessionforgeError


class CloneError(SessionforgeError):
    """A URL could not be cloned."""


def cache_path(cache_dir: str | Path, url: str) -> Path:
    """Where ``url`` is cloned: a readable slug of its last path part plus a hash of the URL."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", tail.removesuffix(".git"))[:40] or "repo"
    digest = hashlib.sha1(url.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{slug}-{digest}.git"


def clone_cached(url: str, cache_dir: str | Path) -> Path:
    """Return a bare clone of ``url`` in ``cache_dir``, cloning it first if it is not there."""
    final = cache_path(cache_dir, url)
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pygit2.clone_repository(url, str(tmp), bare=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # someone else finished the same clone first: theirs is as good
                raise
    except (pygit2.GitError, ValueError, KeyError) as exc:
        raise CloneError(f"{url}: cannot clone: {exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
