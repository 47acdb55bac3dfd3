"""Git walk: which commits to replay, and what each changed in text files.

Works on the object database only (``repo[oid].data``): nothing is checked out,
no hook, filter or attribute driver from the repository is ever run. A merge is
replayed as its diff to its first parent; a root commit as its diff to the empty tree.

A changed path whose old or new side cannot be shown in a text editor, or that the file
filters (:mod:`sessionforge.replay.filters`) say no person typed, is skipped and counted
under one reason per change (``skipped`` dict) and listed with its path and size
(``skipped_files``): ``submodule`` (gitlink), ``symlink``, ``unsafe_path`` (control
characters or invalid UTF-8 in the path), ``excluded`` (include/exclude globs), the path
filters (``notebook``, ``lock_file``, ``vendored``), ``oversize`` (over ``max_file_bytes``),
``binary`` (a NUL byte in the first 8000 bytes, git's own test), ``non_utf8`` (not valid
UTF-8: skipped rather than shown approximately, so the lossless check stays byte-exact),
the content filters (``generated``, ``long_line``, ``mean_line_length``,
``alnum_fraction``, ``encoded_data``), ``mode_only`` (only the file mode changed). A
change whose *new* side is replayable but whose old side is not (binary -> text, or a file
that is no longer filtered) is replayed as a new file; a change whose new side is not
replayable is skipped (a rename of a text file into one still deletes the old path in the
editor). Counts are per changed path per commit.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

import pygit2
from pygit2.enums import DeltaStatus, DiffFind

from sessionforge.errors import SessionforgeError
from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.filters import FileFilter

MODE_LINK = pygit2.GIT_FILEMODE_LINK
MODE_GITLINK = pygit2.GIT_FILEMODE_COMMIT
BINARY_SNIFF = 8000  # bytes git inspects for a NUL to call a file binary

# Control characters that make a path unsafe to type into a prompt or show in a title.
_UNSAFE_PATH_CHARS = frozenset(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])


class RepoError(SessionforgeError):
    """A repository cannot be opened or a ref/commit in the config does not resolve."""


@dataclass
class FileChange:
    """One replayable change: ``kind`` is add, modify, delete or rename.

    ``old_text``/``new_text`` are the exact decoded contents (None when absent);
    ``new_data`` is the new blob's bytes for the lossless check.
    """

    kind: str
    old_path: Optional[str]
    new_path: Optional[str]
    old_text: Optional[str]
    new_text: Optional[str]
    new_data: Optional[bytes]

    @property
    def path(self) -> str:
        """The path the change is about (the new one for renames)."""
        return self.new_path if self.new_path is not None else self.old_path  # type: ignore[return-value]


@dataclass(frozen=True)
class SkippedFile:
    """One skipped change: the path it is about, why, and the size of the skipped blob."""

    path: str
    reason: str
    bytes: int


@dataclass
class CommitChanges:
    """The replayable file changes of one commit, in path order, and what was skipped:
    ``skipped`` counts by reason, ``skipped_files`` one entry per count, in path order."""

    commit: str
    changes: list[FileChange] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[SkippedFile] = field(default_factory=list)

    def skip(self, item: SkippedFile) -> None:
        """Count and list one skipped change."""
        self.skipped[item.reason] = self.skipped.get(item.reason, 0) + 1
        self.skipped_files.append(item)


def open_repo(repo: str | os.PathLike | pygit2.Repository) -> pygit2.Repository:
    """Open a work tree or bare repository (a Repository is passed through)."""
    if isinstance(repo, pygit2.Repository):
        return repo
    path = os.fspath(repo)
    if not os.path.exists(path):
        raise RepoError(f"{path}: no such file or directory")
    try:
        return pygit2.Repository(path)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise RepoError(f"{path}: not a git repository ({exc})") from None


def _resolve(repo: pygit2.Repository, spec: str, what: str) -> pygit2.Commit:
    try:
        obj = repo.revparse_single(spec)
        return obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
        raise RepoError(f"{repo.path}: {what} {spec!r} does not name a commit ({exc})") from None


def list_commits(repo: str | os.PathLike | pygit2.Repository, cfg: ReplayConfig) -> list[str]:
    """First-parent commit ids, oldest first, after ref / start / end / max_commits."""
    repo = open_repo(repo)
    if cfg.end_commit:
        tip = _resolve(repo, cfg.end_commit, "end_commit")
    elif cfg.ref:
        tip = _resolve(repo, cfg.ref, "ref")
    else:
        if repo.head_is_unborn:
            return []
        tip = _resolve(repo, "HEAD", "ref")
    start = str(_resolve(repo, cfg.start_commit, "start_commit").id) if cfg.start_commit else None
    out: list[str] = []
    commit: Optional[pygit2.Commit] = tip
    while commit is not None:
        hexid = str(commit.id)
        out.append(hexid)
        if hexid == start:
            break
        commit = _first_parent(repo, commit)
    if start is not None and out[-1] != start:
        raise RepoError(f"{repo.path}: start_commit {cfg.start_commit!r} is not a first-parent ancestor of the tip")
    out.reverse()
    if cfg.max_commits is not None:
        out = out[: cfg.max_commits]
    return out


def root_commit(repo: str | os.PathLike | pygit2.Repository, tip: str) -> str:
    """The oldest commit on ``tip``'s first-parent chain: what a history is known by, whatever
    URL or fork it was cloned from (forks and mirrors share it)."""
    repo = open_repo(repo)
    commit: Optional[pygit2.Commit] = _resolve(repo, tip, "commit")
    root = commit
    while commit is not None:
        root, commit = commit, _first_parent(repo, commit)
    assert root is not None
    return str(root.id)


def _first_parent(repo: pygit2.Repository, commit: pygit2.Commit) -> Optional[pygit2.Commit]:
    if not commit.parent_ids:
        return None
    try:
        return repo[commit.parent_ids[0]]
    except KeyError:  # shallow clone: history ends here; treat as a root
        return None


DUPLICATE_FILE = "duplicate_file"  # skip reason: the same (or nearly the same) content is typed elsewhere


def typed_blobs(reader: "ChangeReader", commit_hex: str) -> list[tuple[str, str, str]]:
    """``(path, blob id, text)`` of every change of ``commit_hex`` that replay would type
    (adds, modifications and rename targets that pass the filters), in replay order."""
    repo = reader.repo
    changes = reader.read(commit_hex).changes
    if not changes:
        return []
    tree = repo[commit_hex].peel(pygit2.Commit).tree
    out = []
    for c in changes:
        if c.new_path is not None and c.new_text is not None:
            out.append((c.new_path, str(tree[c.new_path].id), c.new_text))
    return out


class ChangeReader:
    """Turns a commit into :class:`CommitChanges` under one config (reusable across commits)."""

    def __init__(self, repo: pygit2.Repository, cfg: ReplayConfig, skip_blobs: frozenset[str] = frozenset()) -> None:
        self.repo = repo
        self.cfg = cfg
        # "path\0blob id" of changes the build's file dedup gave to another file (pipeline/dedup.py)
        self.skip_blobs = skip_blobs
        self._include = list(cfg.include)
        self._exclude = list(cfg.exclude)
        self.filter = FileFilter(cfg.files)

    def read(self, commit_hex: str) -> CommitChanges:
        """Diff ``commit_hex`` against its first parent (or the empty tree), with renames."""
        repo = self.repo
        try:
            commit = repo[commit_hex].peel(pygit2.Commit)
        except (KeyError, ValueError, TypeError, pygit2.GitError) as exc:
            raise RepoError(f"{repo.path}: {commit_hex!r} is not a commit of this repository ({exc})") from None
        parent = _first_parent(repo, commit)
        if parent is None:
            diff = commit.tree.diff_to_tree(swap=True)  # empty tree -> this tree
        else:
            diff = parent.tree.diff_to_tree(commit.tree)
        # libgit2 leaves rename detection off; exact and similar renames both count.
        diff.find_similar(flags=DiffFind.FIND_RENAMES)
        out = CommitChanges(commit_hex)
        items = []
        for delta in diff.deltas:
            change = self._change(delta, out)
            if change is not None:
                items.append(change)
        # Path order (new path for renames/adds) keeps the replay order independent of libgit2 internals.
        items.sort(key=lambda c: (c.path, c.kind))
        out.changes = items
        out.skipped_files.sort(key=lambda k: (k.path, k.reason))
        return out

    def _change(self, delta: pygit2.DiffDelta, out: CommitChanges) -> Optional[FileChange]:
        status = delta.status
        has_old = status in (DeltaStatus.DELETED, DeltaStatus.MODIFIED, DeltaStatus.RENAMED, DeltaStatus.TYPECHANGE)
        has_new = status in (DeltaStatus.ADDED, DeltaStatus.MODIFIED, DeltaStatus.RENAMED, DeltaStatus.TYPECHANGE)
        old = self._side(delta.old_file) if has_old else None
        new = self._side(delta.new_file) if has_new else None
        if isinstance(new, tuple) and self.skip_blobs and f"{new[0]}\0{delta.new_file.id}" in self.skip_blobs:
            new = SkippedFile(new[0], DUPLICATE_FILE, len(new[2]))
        if has_new:
            if isinstance(new, SkippedFile):    # new side not replayable: skip it
                out.skip(new)
                if isinstance(old, tuple) and old[0] != new.path:
                    # a text file renamed into something unshowable: the old path is gone
                    return FileChange("delete", old[0], None, old[1], None, None)
                return None
            path, text, data = new  # type: ignore[misc]
            if isinstance(old, tuple):
                old_path, old_text, _ = old
                if old_path == path:
                    if old_text == text:    # same content: only the mode changed
                        out.skip(SkippedFile(path, "mode_only", len(data)))
                        return None
                    return FileChange("modify", path, path, old_text, text, data)
                return FileChange("rename", old_path, path, old_text, text, data)
            return FileChange("add", None, path, None, text, data)
        if isinstance(old, SkippedFile):
            out.skip(old)
            return None
        old_path, old_text, _ = old  # type: ignore[misc]
        return FileChange("delete", old_path, None, old_text, None, None)

    def _side(self, f: pygit2.DiffFile) -> tuple[str, str, bytes] | SkippedFile:
        """(path, text, bytes) of a replayable side, else what was skipped and why."""
        if f.mode == MODE_GITLINK:
            return SkippedFile(f.raw_path.decode("utf-8", "backslashreplace"), "submodule", 0)
        if f.mode == MODE_LINK:
            return self._skipped(f, "symlink")
        try:
            path = f.raw_path.decode("utf-8")
        except UnicodeDecodeError:
            return self._skipped(f, "unsafe_path")
        if not _UNSAFE_PATH_CHARS.isdisjoint(path):
            return self._skipped(f, "unsafe_path")
        if not self._wanted(path):
            return self._skipped(f, "excluded")
        reason = self.filter.path_reason(path)
        if reason is not None:
            return self._skipped(f, reason)
        blob = self.repo[f.id]
        if blob.size > self.cfg.max_file_bytes:
            return SkippedFile(path, "oversize", blob.size)
        data = blob.data
        if b"\x00" in data[:BINARY_SNIFF]:
            return SkippedFile(path, "binary", len(data))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return SkippedFile(path, "non_utf8", len(data))
        reason = self.filter.content_reason(text, data, f.id)
        if reason is not None:
            return SkippedFile(path, reason, len(data))
        return path, text, data

    def _skipped(self, f: pygit2.DiffFile, reason: str) -> SkippedFile:
        """A side skipped before its blob is read: its size from the object header only."""
        try:
            size = int(self.repo.odb.read_header(f.id)[1])
        except (KeyError, ValueError, pygit2.GitError):  # e.g. a blob a partial clone lacks
            size = 0
        return SkippedFile(f.raw_path.decode("utf-8", "backslashreplace"), reason, size)

    def _wanted(self, path: str) -> bool:
        if self._include and not any(fnmatch.fnmatchcase(path, g) for g in self._include):
            return False
        return not any(fnmatch.fnmatchcase(path, g) for g in self._exclude)


def iter_changes(repo: str | os.PathLike | pygit2.Repository, cfg: ReplayConfig,
                 commits: Optional[Sequence[str]] = None) -> Iterator[CommitChanges]:
    """Yield :class:`CommitChanges` for ``commits`` (default: :func:`list_commits`)."""
    repo = open_repo(repo)
    reader = ChangeReader(repo, cfg)
    for hexid in (commits if commits is not None else list_commits(repo, cfg)):
        yield reader.read(hexid)
