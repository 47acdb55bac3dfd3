"""A reusable factory of generated git repositories for tests and benchmarks.

Everything is written straight into the object database with pygit2 (blobs, trees,
commits, refs): nothing is checked out, so a "work tree" repository has an empty work
tree. Commit times are fixed, so the same calls give the same commit ids.

Stable API (other areas import it as ``from gitfactory import ...``)::

    f = RepoFactory(tmp_path / "repo", bare=False)          # HEAD -> refs/heads/main
    c1 = f.commit({"a.txt": "hi\\n", "bin": b"\\0\\1", "ln": Symlink("a.txt"),
                   "sub": Gitlink("ab" * 20), "run.sh": Exec("#!/bin/sh\\n")}, "init")
    c2 = f.commit({"a.txt": None}, renames={"b.txt": "c.txt"})   # delete, rename (content kept)
    side = f.commit({"x": "1\\n"}, base=c1, ref="refs/heads/side") # a side branch
    m = f.commit({"x": "1\\n"}, parents=[c2, side])              # merge: tree = first parent + changes
    f.files(m)  # -> {path: bytes | Symlink | Gitlink | Exec}: the tree of any commit

    nasty = make_nasty_repo(tmp_path / "nasty")       # NastyRepo: path, commits, expected skips
    make_synthetic_history(tmp_path / "syn", commits=200, seed=0)   # realistic source edits
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import pygit2

MODE_BLOB = pygit2.GIT_FILEMODE_BLOB
MODE_EXEC = pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
MODE_LINK = pygit2.GIT_FILEMODE_LINK
MODE_GITLINK = pygit2.GIT_FILEMODE_COMMIT
MODE_TREE = pygit2.GIT_FILEMODE_TREE

EPOCH = 1_700_000_000  # fixed commit times -> reproducible commit ids


@dataclass(frozen=True)
class Symlink:
    """A symbolic link entry pointing at ``target``."""

    target: str


@dataclass(frozen=True)
class Gitlink:
    """A submodule entry (mode 160000) pinned at commit ``oid`` (40 hex digits)."""

    oid: str


@dataclass(frozen=True)
class Exec:
    """An executable regular file (mode 100755)."""

    content: Union[str, bytes]


Content = Union[str, bytes, Symlink, Gitlink, Exec, None]


class RepoFactory:
    """Builds commits in a new repository at ``path`` without touching any work tree."""

    def __init__(self, path: str | Path, bare: bool = False, branch: str = "main") -> None:
        self.path = Path(path)
        self.repo = pygit2.init_repository(str(self.path), bare=bare, initial_head=branch)
        self.branch_ref = f"refs/heads/{branch}"
        self.head: str | None = None
        # commit hex -> {path: (oid hex, mode)}: lets commits be based on any earlier commit
        self._states: dict[str, dict[str, tuple[str, int]]] = {}
        self._n = 0

    def commit(
        self,
        changes: Mapping[str, Content] | None = None,
        message: str = "change",
        *,
        renames: Mapping[str, str] | None = None,
        base: str | None = None,
        parents: Sequence[str] | None = None,
        ref: str | None = None,
    ) -> str:
        """Create a commit whose tree is its base's tree plus ``renames`` then ``changes``.

        ``changes`` maps path -> content (str is UTF-8, None deletes the path).
        ``base`` defaults to ``parents[0]`` or the current head; ``parents`` defaults to
        ``[base]`` (none for the first commit). ``ref`` defaults to the main branch,
        whose head then moves. Returns the commit id (hex).
        """
        if parents is None:
            base = base if base is not None else self.head
            parents = [base] if base is not None else []
        else:
            parents = list(parents)
            base = base if base is not None else (parents[0] if parents else None)
        state = dict(self._states[base]) if base is not None else {}
        for old, new in (renames or {}).items():
            state[new] = state.pop(old)
        for path, content in (changes or {}).items():
            if content is None:
                state.pop(path, None)
            else:
                state[path] = self._entry(content)
        tree = self._write_tree(state)
        self._n += 1
        sig = pygit2.Signature("Factory", "factory@example.com", EPOCH + 60 * self._n, 0)
        ref = ref or self.branch_ref
        oid = self.repo.create_commit(ref, sig, sig, message, tree, [pygit2.Oid(hex=p) for p in parents])
        hexid = str(oid)
        self._states[hexid] = state
        if ref == self.branch_ref:
            self.head = hexid
        return hexid

    def files(self, commit: str) -> dict[str, Union[bytes, Symlink, Gitlink, Exec]]:
        """The tree of ``commit`` as path -> content (bytes for regular files)."""
        out: dict[str, Union[bytes, Symlink, Gitlink, Exec]] = {}
        for path, (oid, mode) in self._states[commit].items():
            if mode == MODE_GITLINK:
                out[path] = Gitlink(oid)
                continue
            data = self.repo[oid].data
            if mode == MODE_LINK:
                out[path] = Symlink(data.decode("utf-8", "surrogateescape"))
            elif mode == MODE_EXEC:
                out[path] = Exec(data)
            else:
                out[path] = data
        return out

    def _entry(self, content: Content) -> tuple[str, int]:
        if isinstance(content, Symlink):
            return str(self.repo.create_blob(content.target.encode("utf-8", "surrogateescape"))), MODE_LINK
        if isinstance(content, Gitlink):
            return content.oid, MODE_GITLINK
        mode = MODE_BLOB
        if isinstance(content, Exec):
            content, mode = content.content, MODE_EXEC
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return str(self.repo.create_blob(data)), mode

    def _write_tree(self, state: Mapping[str, tuple[str, int]]) -> pygit2.Oid:
        # Nest "a/b/c" paths into subtrees; sorted so tree ids never depend on dict order.
        root: dict = {}
        for path in sorted(state):
            node = root
            parts = path.split("/")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = state[path]
        return self._build(root)

    def _build(self, node: dict) -> pygit2.Oid:
        tb = self.repo.TreeBuilder()
        for name in sorted(node):
            child = node[name]
            if isinstance(child, dict):
                tb.insert(name, self._build(child), MODE_TREE)
            else:
                oid, mode = child
                tb.insert(name, pygit2.Oid(hex=oid), mode)
        return tb.write()


# --------------------------------------------------------------------------- nasty repo

UNICODE_TEXT = (
    "CJK: 漢字かなカナ한국어 全角ＡＢＣ\n"
    "emoji: 🙂👍🏽👨‍👩‍👧‍👦🏳️‍🌈 flags 🇯🇵\n"
    "combining: e\u0301 a\u0300\u0316 Z\u0351\u0352\u0353 n\u0303\n"
    "rtl: שלום مرحبا \u202eevil\u202c\n"
    "zero-width: a\u200bb\u200dc\ufeffd\n"
    "math: ∀x∈ℝ, x²≥0 \U0001d538\n"
)

ESCAPE_TEXT = (
    "clear: \x1b[2J\x1b[H gone?\n"
    "move: \x1b[10;10Hhere \x1b[5A up\n"
    "title: \x1b]0;pwned\x07 and \x1b]2;x\x1b\\\n"
    "altscreen: \x1b[?1049h alt \x1b[?1049l back\n"
    "colors: \x1b[31;1mred\x1b[0m \x1b[38;2;1;2;3mrgb\n"
    "c0: \x01\x02\x03\x04\x05\x06\x07\x08|\x0b|\x0c|\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1f\x7f\n"
    "c1: \u0080\u0085\u008d\u009b31m\u009d0;t\u009c\n"
    "cr: a\rb\r\n"
)


TABS_PY = "".join(f"def f{i}():\n\tif x:\n\t\treturn {i}  \n\treturn 2\t\n\n" for i in range(12))


@dataclass
class NastyRepo:
    """A generated repository full of hard cases, plus what a default replay should skip.

    ``expected_skipped`` counts skipped file changes (one per changed path per commit)
    by reason, for a replay with ``max_file_bytes`` below ``huge_bytes`` and no filters.
    """

    path: Path
    commits: list[str]                     # first-parent history, oldest first
    expected_skipped: dict[str, int]
    text_paths: list[str] = field(default_factory=list)   # text files present at the tip
    huge_bytes: int = 0


def make_nasty_repo(
    path: str | Path, *, bare: bool = False, long_line_chars: int = 100_000, huge_bytes: int = 1_200_000
) -> NastyRepo:
    """Generate a repository with binary, CRLF, tabs, unicode, control bytes, escape
    sequences, a ``long_line_chars`` line, renames, deletions, an empty commit, a merge,
    submodule entries, symlinks, a non-UTF-8 file, unsafe paths and a huge file."""
    f = RepoFactory(path, bare=bare)
    skipped: dict[str, int] = {}

    def skip(reason: str, n: int = 1) -> None:
        skipped[reason] = skipped.get(reason, 0) + n

    long_line = "".join("abcdefghij"[i % 10] if i % 97 else "\t" for i in range(long_line_chars))
    c = [f.commit({
        "README.md": "# nasty\n\nA repository of hard cases.\n",
        "crlf.txt": "one\r\ntwo\r\nthree\r\n",
        "mixed.txt": "unix\nwindows\r\nold mac\rend",
        "tabs.py": TABS_PY,
        "unicode.txt": UNICODE_TEXT,
        "escapes.txt": ESCAPE_TEXT,
        "nofinal.txt": "no final newline",
        "trailing.txt": "spaces   \n\t\n   \n\n\n",
        "empty.txt": "",
        "newline_only.txt": "\n",
        "deep/a/b/c/d.txt": "deep\n",
        "bin.dat": bytes(range(256)),
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        "link": Symlink("README.md"),
        "vendor/lib": Gitlink("1234567890abcdef1234567890abcdef12345678"),
        "latin1.txt": b"caf\xe9 cr\xe8me\n",
        "bad\x1bname.txt": "the path has an ESC\n",
        "run.sh": Exec("#!/bin/sh\necho hi\n"),
    }, "root: hard cases")]
    skip("binary", 2)
    skip("symlink")
    skip("submodule")
    skip("non_utf8")
    skip("unsafe_path")

    c.append(f.commit({"long.txt": long_line + "\nshort tail\n"}, "a very long line"))
    c.append(f.commit({
        "crlf.txt": "one\r\ntwo and a half\r\nthree\r\nfour",
        "unicode.txt": UNICODE_TEXT.replace("🙂", "😃").replace("全角", "半角") + "new: 🚀 ok\n",
        "escapes.txt": ESCAPE_TEXT.replace("pwned", "owned") + "\x1bc reset\n",
        "nofinal.txt": "no final newline, still none",
        "trailing.txt": "spaces \n\t\t\n",
        "empty.txt": "now has text\n",
        "newline_only.txt": "",
        "mixed.txt": "unix\r\nwindows\nold mac\r\rend\n",
    }, "edit hard cases"))
    mid = long_line_chars - 5
    c.append(f.commit({
        "long.txt": long_line[:mid] + "XYZ" + long_line[mid + 2:] + "\nshort tail changed\n",
    }, "edit the long line near its end"))
    # Renames: pure, and with a content change; a move into a new directory.
    c.append(f.commit({"src/tabs2.py": TABS_PY.replace("return 2", "return 3")},
                      "rename with edit", renames={"tabs.py": "src/tabs2.py"}))
    c.append(f.commit(None, "pure rename", renames={"deep/a/b/c/d.txt": "deep/moved.txt"}))
    c.append(f.commit({"README.md": None, "link": None}, "delete a file and a symlink"))
    skip("symlink")
    c.append(f.commit(None, "empty commit"))
    # A side branch merged back: the merge is replayed as its diff to the first parent.
    side1 = f.commit({"side.txt": "from the side branch\n"}, "side 1", base=c[-1], ref="refs/heads/side")
    side2 = f.commit({"side.txt": "from the side branch\nsecond\n", "crlf.txt": "side\r\n"},
                     "side 2", base=side1, ref="refs/heads/side")
    c.append(f.commit({"main.txt": "main line\n"}, "main moves on"))
    merged = f.files(side2)
    c.append(f.commit({"side.txt": merged["side.txt"], "crlf.txt": merged["crlf.txt"]},
                      "merge side", parents=[c[-1], side2]))
    c.append(f.commit({
        "bin.dat": bytes(range(255, -1, -1)),           # binary modified
        "vendor/lib": Gitlink("abcdefabcdefabcdefabcdefabcdefabcdefabcd"),
        "huge.txt": ("x" * 99 + "\n") * (huge_bytes // 100 + 1),
        "latin1.txt": b"caf\xe9\n",
        "newlink": Symlink("main.txt"),
    }, "binary, submodule bump, huge file, non-utf8, symlink"))
    skip("binary")
    skip("submodule")
    skip("oversize")
    skip("non_utf8")
    skip("symlink")
    c.append(f.commit({
        "main.txt": b"main line\n\x00binary now\n",     # text -> binary
        "image.png": "not an image any more\n",          # binary -> text (replayed as a new file)
        "run.sh": "#!/bin/sh\necho hi\n",                # mode-only change (exec bit dropped)
        "unicode.txt": None,
    }, "type flips and a delete"))
    skip("binary")
    skip("mode_only")
    c.append(f.commit({"escapes.txt": None, "crlf.txt": None, "tail.txt": "the end\r\n"}, "cleanup"))
    tip = f.files(c[-1])
    text_paths = sorted(p for p, v in tip.items() if isinstance(v, bytes) and _is_replayable(p, v, huge_bytes))
    return NastyRepo(f.path, c, skipped, text_paths, huge_bytes)


def _is_replayable(path: str, data: bytes, limit: int) -> bool:
    if len(data) >= limit or b"\x00" in data[:8000] or any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ------------------------------------------------------------------ synthetic history

_WORDS = ("value count index item result total buffer state frame cursor line column "
          "offset length token node parent child left right start stop width height "
          "config option reader writer session commit path name data").split()
_KEYWORDS = ("if", "for", "while", "return", "with")


def _ident(rng: random.Random) -> str:
    return "_".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))


def _function(rng: random.Random) -> list[str]:
    name = _ident(rng)
    args = ", ".join(_ident(rng) for _ in range(rng.randint(0, 3)))
    lines = [f"def {name}({args}):", f'    """{rng.choice(_WORDS).capitalize()} the {rng.choice(_WORDS)}."""']
    for _ in range(rng.randint(2, 12)):
        indent = "    " * rng.randint(1, 2)
        kind = rng.random()
        if kind < 0.5:
            lines.append(f"{indent}{_ident(rng)} = {_ident(rng)} + {rng.randint(0, 999)}")
        elif kind < 0.7:
            lines.append(f"{indent}{rng.choice(_KEYWORDS)} {_ident(rng)}:")
        elif kind < 0.85:
            lines.append(f"{indent}# {' '.join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))}")
        else:
            lines.append(f"{indent}{_ident(rng)}({_ident(rng)}, {_ident(rng)!r})")
    lines.append(f"    return {_ident(rng)}")
    lines.append("")
    return lines


def make_synthetic_history(
    path: str | Path, commits: int = 200, seed: int = 0, *, bare: bool = False, files: int = 8
) -> RepoFactory:
    """Generate a first-parent history of ``commits`` realistic source edits.

    Each commit edits 1-3 Python-like files: adds functions, rewrites a few lines in
    place, deletes blocks; now and then a file is added, renamed or deleted. Seeded:
    the same arguments give the same commit ids.
    """
    rng = random.Random(seed)
    f = RepoFactory(path, bare=bare)
    tree: dict[str, list[str]] = {}
    for i in range(files):
        tree[f"pkg/mod_{i}.py"] = [f'"""Module {i}."""', ""] + _function(rng) + _function(rng)
    f.commit({p: "\n".join(lines) + "\n" for p, lines in tree.items()}, "initial import")
    for n in range(1, commits):
        changes: dict[str, Content] = {}
        renames: dict[str, str] = {}
        roll = rng.random()
        paths = sorted(tree)
        if roll < 0.05 and len(paths) > 2:
            victim = rng.choice(paths)
            del tree[victim]
            changes[victim] = None
        elif roll < 0.10:
            old = rng.choice(paths)
            new = f"pkg/renamed_{n}.py"
            tree[new] = tree.pop(old)
            renames[old] = new
        elif roll < 0.15:
            tree[f"pkg/new_{n}.py"] = [f'"""New module {n}."""', ""] + _function(rng)
        for p in rng.sample(sorted(tree), k=min(len(tree), rng.randint(1, 3))):
            lines = tree[p]
            for _ in range(rng.randint(1, 4)):
                op = rng.random()
                at = rng.randrange(len(lines) + 1)
                if op < 0.4:
                    lines[at:at] = _function(rng)
                elif op < 0.8 and lines:
                    i = min(at, len(lines) - 1)
                    old_word = rng.choice(_WORDS)
                    lines[i] = lines[i].replace(old_word, rng.choice(_WORDS)) + ("  # fix" if rng.random() < 0.3 else "")
                elif lines:
                    del lines[at:at + rng.randint(1, 6)]
        for p in sorted(tree):
            changes.setdefault(p, "\n".join(tree[p]) + "\n")
        f.commit(changes, f"commit {n}", renames=renames)
    return f
