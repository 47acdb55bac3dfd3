"""The editor's disk during a rollout, and what "the files an editor holds" means.

During replay the pipeline manages the editor's ``disk`` (a plain dict): just before a file
is opened it puts the file's text from the commit's parent tree there, and after every
commit it drops every entry but the open file's (``replay/PIPELINE.md``). A rollout has no
planner to do that, so :class:`RepoDisk` stands in: a dict (the editor reads and writes it
as one) whose ``get`` falls back to a repository tree for a path it never held, so a model
that presses Ctrl-O and types a path of the repository opens that file as a programmer
would. It remembers what the editor deleted (Alt-D, the old path of a rename): a deleted
path is absent, not the tree's version. And it remembers what the pipeline *forgot* (its
``del`` after a commit): a forgotten file still has the text it had, since the pipeline
only forgets what the repository now holds.

:class:`FileState` is one editor's files at one moment: the open buffer (unsaved edits
included) over the disk entries, deletions and forgotten files. Two states are compared
path by path over every path either of them knows; a path one state does not know reads
from the same base tree on both sides (the parent tree of the commit in progress at the
hand-over), so a file neither side touched never counts as a difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import pygit2

NO_NAME = "(new buffer)"  # FileState key of a buffer without a file name

TreeFiles = Callable[[str], Optional[str]]  # path -> text in a tree (None: absent or not text)


class RepoDisk(dict):
    """An editor ``disk`` over a base tree; see the module doc. ``base`` None: a plain dict's
    ``get`` (during replay, where the pipeline fills the disk itself)."""

    def __init__(self, entries: dict[str, str], base: TreeFiles | None = None) -> None:
        super().__init__(entries)
        self.base = base
        self.deleted: set[str] = set()
        self.forgotten: dict[str, str] = {}

    def __setitem__(self, path: str, text: str) -> None:
        self.deleted.discard(path)
        self.forgotten.pop(path, None)
        super().__setitem__(path, text)

    def pop(self, path: str, *default: object) -> object:  # type: ignore[override]
        # The editor pops on Alt-D and on a rename's old path: the file is gone, not "as in git".
        self.deleted.add(path)
        self.forgotten.pop(path, None)
        return super().pop(path, *default)

    def __delitem__(self, path: str) -> None:
        # Only the pipeline deletes with `del` (after a commit): it forgets what git now holds.
        self.forgotten[path] = self[path]
        super().__delitem__(path)

    def get(self, path: str, default: object = None) -> object:  # type: ignore[override]
        if path in self:
            return self[path]
        if self.base is None or path in self.deleted:
            return default
        text = self.base(path)
        return default if text is None else text


@dataclass
class FileState:
    """One editor's files: ``known`` maps a path to its text, or None for a deleted path."""

    known: dict[str, Optional[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, editor: object) -> "FileState":
        """The files of a live editor (its disk a plain dict or a :class:`RepoDisk`)."""
        disk = editor.disk  # type: ignore[attr-defined]
        known: dict[str, Optional[str]] = {}
        if isinstance(disk, RepoDisk):
            known.update(disk.forgotten)
            known.update({p: None for p in disk.deleted})
        known.update(disk)
        path = editor.path  # type: ignore[attr-defined]
        text = editor.text  # type: ignore[attr-defined]
        if path is not None:
            known[path] = text  # the buffer, unsaved edits included, over its saved version
        elif text:
            known[NO_NAME] = text
        return cls(known)

    def text(self, path: str, base: TreeFiles) -> str:
        """The text of ``path`` ("" when absent), from the base tree when this state does not know it."""
        if path in self.known:
            return self.known[path] or ""
        return (base(path) or "") if path != NO_NAME else ""


def tree_files(repo: pygit2.Repository, commit: str | None, max_bytes: int = 1_000_000) -> TreeFiles:
    """``path -> text`` in ``commit``'s tree (None: the empty tree). A path that is absent, not a
    regular file, larger than ``max_bytes`` or not UTF-8 reads as None: replay would never
    have opened it either. Results are cached."""
    tree = repo[commit].peel(pygit2.Tree) if commit else None
    cache: dict[str, Optional[str]] = {}

    def read(path: str) -> Optional[str]:
        if path in cache:
            return cache[path]
        text = None
        if tree is not None and path:
            try:
                entry = tree[path]
            except (KeyError, ValueError):
                entry = None
            if entry is not None and entry.filemode in (pygit2.GIT_FILEMODE_BLOB, pygit2.GIT_FILEMODE_BLOB_EXECUTABLE):
                blob = repo[entry.id]
                if blob.size <= max_bytes and b"\0" not in blob.data[:8000]:
                    try:
                        text = blob.data.decode("utf-8")
                    except UnicodeDecodeError:
                        text = None
        cache[path] = text
        return text

    return read


def first_parent(repo: pygit2.Repository, commit: str) -> str | None:
    """The first parent of ``commit`` (None for a root commit or a shallow boundary)."""
    c = repo[commit].peel(pygit2.Commit)
    if not c.parent_ids or repo.get(c.parent_ids[0]) is None:
        return None
    return str(c.parent_ids[0])


__all__ = ["FileState", "NO_NAME", "RepoDisk", "TreeFiles", "first_parent", "tree_files"]
