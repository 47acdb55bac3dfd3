"""File dedup across a build: the same (or nearly the same) file content is typed once.

Vendored copies of a library, a file copied between repositories, generated code checked in
twice: with ``dedup_files: exact`` a change whose resulting blob was already typed by *another
file* (another path, or another repository) earlier in the build is skipped as
``duplicate_file``; with ``near``, also a change whose text is a near-duplicate (MinHash
estimate of the Jaccard similarity of word 5-gram shingles >= ``dedup_threshold``) of one
typed earlier. The same file typing the same content again (a revert) is never a duplicate.

**Determinism.** "Earlier" is the build's own order, not the order jobs happen to finish:
inputs in order, then slices, commits and paths in replay order. Planning lists what each
slice would type (:func:`sessionforge.replay.gitwalk.typed_blobs`); the driver then walks
all plans in that order (:func:`decide`) before any slice is replayed and hands each slice
the changes to skip (:func:`skip_key`: a path and the blob it must not type there). Executors, worker counts and resumes see the same plans, so
they make the same decisions, and a slice's marker records a digest of its set (a resumed
build whose inputs changed replays the slices whose set changed).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Iterable, Sequence

from sessionforge.errors import SessionforgeError

NUM_PERM = 128
SHINGLE = 5
_WORD = re.compile(r"\w+|[^\w\s]")


class DedupError(SessionforgeError):
    """File dedup cannot run as configured (e.g. ``near`` without datasketch)."""


def minhash_signature(text: str) -> tuple[int, ...]:
    """A MinHash signature (``NUM_PERM`` values) of the word 5-gram shingles of ``text``."""
    MinHash = _datasketch().MinHash
    tokens = _WORD.findall(text)
    grams = {" ".join(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch([g.encode("utf-8") for g in sorted(grams)])
    return tuple(int(v) for v in m.hashvalues)


def _datasketch() -> Any:
    try:
        import datasketch  # why: optional (the `dedup` extra), and only `near` needs it
    except ImportError:
        raise DedupError("--dedup-files near needs datasketch: pip install 'sessionforge[dedup]'") from None
    return datasketch


def skip_key(path: str, blob: str) -> str:
    """What a slice's skip set holds: a path with the blob it must not type there (a blob alone
    would also skip the file that owns it when a copy sits in the same slice)."""
    return f"{path}\0{blob}"


def decide(slices: Iterable[tuple[str, str, Sequence[tuple[str, str]]]], mode: str, threshold: float,
           signatures: dict[str, tuple[int, ...]] | None = None) -> dict[str, frozenset[str]]:
    """For each slice, the :func:`skip_key` s of the changes it must skip.

    ``slices``: ``(slice id, repository identity, [(path, blob id), ...] in replay order)`` in
    the build's order. ``signatures``: blob id -> MinHash signature (``near`` only).
    """
    owner: dict[str, tuple[str, str]] = {}      # blob id -> (repository, path) that types it
    lsh = None
    if mode == "near":
        datasketch = _datasketch()
        lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        sig_cache: dict[str, Any] = {}
    out: dict[str, frozenset[str]] = {}
    for slice_id, repo, typed in slices:
        skip: set[str] = set()
        for path, blob in typed:
            me = (repo, path)
            first = owner.get(blob)
            if first is not None:
                if first != me:
                    skip.add(skip_key(path, blob))
                continue
            if lsh is not None and signatures is not None and blob in signatures:
                m = _minhash(signatures[blob], sig_cache)
                near = [b for b in lsh.query(m) if m.jaccard(_minhash(signatures[b], sig_cache)) >= threshold
                        and owner[b] != me]
                if near:
                    skip.add(skip_key(path, blob))
                    owner[blob] = owner[min(near)]   # a later exact copy of it is a duplicate too
                    continue
                lsh.insert(blob, m)
            owner[blob] = me
        out[slice_id] = frozenset(skip)
    return out


def _minhash(sig: tuple[int, ...], cache: dict[str, Any]) -> Any:
    key = hashlib.sha1(repr(sig).encode()).hexdigest()
    m = cache.get(key)
    if m is None:
        import numpy as np

        # Built empty, then given the worker's values: the constructor's own path for existing
        # values differs between datasketch versions; the values are what LSH and jaccard read.
        m = _datasketch().MinHash(num_perm=NUM_PERM, seed=1)
        m.hashvalues = np.array(sig, dtype=np.uint64)
        cache[key] = m
    return m


def skip_digest(skip: frozenset[str]) -> str:
    """A short digest of a slice's skip set, for its completion marker."""
    return hashlib.sha256("\n".join(sorted(skip)).encode()).hexdigest()[:16]


def skip_keys_from_rows(repo_path: str, rows: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The skip keys of ``(commit, path)`` changes recorded as duplicates (skipped.parquet rows),
    for replaying a slice of a dedup build again (``verify --deep``)."""
    import pygit2  # why: only a deep verify of a dedup build needs the repository here

    repo = pygit2.Repository(repo_path)
    keys = set()
    for commit, path in rows:
        tree = repo[commit].peel(pygit2.Commit).tree
        keys.add(skip_key(path, str(tree[path].id)))
    return frozenset(keys)
