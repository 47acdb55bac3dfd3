"""Git walk: commit order, ranges, skips by reason, renames, merges, bare repos."""

from __future__ import annotations

import os

import pytest
from gitfactory import Exec, Gitlink, RepoFactory, Symlink, make_nasty_repo

from sessionforge.errors import SessionforgeError
from sessionforge.replay import ReplayConfig, list_commits
from sessionforge.replay.filters import FileFilterConfig
from sessionforge.replay.gitwalk import RepoError, iter_changes, open_repo

NO_FILTERS = FileFilterConfig(enabled=False)   # the nasty repository's counts are for no file filters


def _kinds(cc):
    return [(c.kind, c.old_path, c.new_path) for c in cc.changes]


def _linear(tmp_path, n=5, bare=False):
    f = RepoFactory(tmp_path / "r", bare=bare)
    ids = [f.commit({"a.txt": f"v{i}\n"}, f"c{i}") for i in range(n)]
    return f, ids


def test_first_parent_oldest_first_and_merges(tmp_path):
    f = RepoFactory(tmp_path / "r")
    a = f.commit({"x": "1\n"})
    s1 = f.commit({"side": "s\n"}, base=a, ref="refs/heads/side")
    b = f.commit({"x": "2\n"})
    m = f.commit({"side": "s\n"}, parents=[b, s1])
    assert list_commits(f.path, ReplayConfig()) == [a, b, m]   # the side commit is not walked
    changes = {cc.commit: cc for cc in iter_changes(f.path, ReplayConfig())}
    # the merge is its diff to the first parent: only the file it brought in
    assert _kinds(changes[m]) == [("add", None, "side")]
    assert _kinds(changes[a]) == [("add", None, "x")]       # root commit: diff to the empty tree
    assert changes[b].changes[0].old_text == "1\n" and changes[b].changes[0].new_text == "2\n"


def test_ranges_ref_and_max_commits(tmp_path):
    f, ids = _linear(tmp_path, 6)
    side = f.commit({"b": "x"}, base=ids[2], ref="refs/heads/side")
    assert list_commits(f.path, ReplayConfig(max_commits=2)) == ids[:2]
    assert list_commits(f.path, ReplayConfig(start_commit=ids[2])) == ids[2:]
    assert list_commits(f.path, ReplayConfig(end_commit=ids[3])) == ids[:4]
    assert list_commits(f.path, ReplayConfig(start_commit=ids[1][:10], end_commit=ids[4], max_commits=2)) == ids[1:3]
    assert list_commits(f.path, ReplayConfig(ref="side")) == ids[:3] + [side]
    with pytest.raises(RepoError, match="not a first-parent ancestor"):
        list_commits(f.path, ReplayConfig(start_commit=side))
    with pytest.raises(RepoError, match="does not name a commit"):
        list_commits(f.path, ReplayConfig(ref="no-such-branch"))


def test_bad_paths_are_clear_errors(tmp_path):
    with pytest.raises(SessionforgeError, match="no such file"):
        open_repo(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepoError, match="not a git repository"):
        list_commits(tmp_path / "plain", ReplayConfig())


def test_bare_repo_and_nothing_written_to_work_tree(tmp_path):
    f, ids = _linear(tmp_path, 3, bare=True)
    assert list_commits(f.path, ReplayConfig()) == ids
    g = RepoFactory(tmp_path / "wt")
    g.commit({"a.txt": "x\n", "d/b.txt": "y\n"})
    before = sorted(os.listdir(g.path))
    list(iter_changes(g.path, ReplayConfig()))
    assert sorted(os.listdir(g.path)) == before == [".git"]


def test_nasty_repo_skip_counts_match(tmp_path):
    nasty = make_nasty_repo(tmp_path / "n", long_line_chars=1000)
    total: dict[str, int] = {}
    kinds = set()
    for cc in iter_changes(nasty.path, ReplayConfig(files=NO_FILTERS)):
        for k, v in cc.skipped.items():
            total[k] = total.get(k, 0) + v
        kinds.update(c.kind for c in cc.changes)
        for c in cc.changes:   # decoded text and raw bytes always agree
            if c.new_text is not None:
                assert c.new_text.encode("utf-8") == c.new_data
    assert total == nasty.expected_skipped
    assert kinds == {"add", "modify", "delete", "rename"}


def test_renames_detected_and_filters(tmp_path):
    f = RepoFactory(tmp_path / "r")
    body = "".join(f"line {i}\n" for i in range(40))
    f.commit({"src/a.py": body, "docs/x.md": "doc\n", "b.lock": "lock\n"})
    c2 = f.commit({"src/z.py": body.replace("line 7", "line seven")}, renames={"src/a.py": "src/z.py"})
    [cc] = [cc for cc in iter_changes(f.path, ReplayConfig()) if cc.commit == c2]
    assert _kinds(cc) == [("rename", "src/a.py", "src/z.py")]
    cfg = ReplayConfig(include=["src/*", "*.lock"], exclude=["*.lock"])
    root = next(iter_changes(f.path, cfg))
    assert _kinds(root) == [("add", None, "src/a.py")]
    assert root.skipped == {"excluded": 2}


def test_special_entries_and_sizes(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({
        "ok.txt": "fine\n", "big.txt": "x" * 101, "bin": b"a\x00b", "latin": b"\xe9\n",
        "ln": Symlink("ok.txt"), "sub": Gitlink("ab" * 20), "new\nline": "path has a newline\n",
        "csi\u009b.txt": "C1 in the path\n", "run.sh": Exec("#!/bin/sh\n"),
    })
    cc = next(iter_changes(f.path, ReplayConfig(max_file_bytes=100)))
    assert _kinds(cc) == [("add", None, "ok.txt"), ("add", None, "run.sh")]
    assert cc.skipped == {"oversize": 1, "binary": 1, "non_utf8": 1, "symlink": 1, "submodule": 1,
                          "unsafe_path": 2}


def test_type_changes(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"a": "text\n", "b": b"\x00bin", "c": "to link\n", "d": Symlink("a"), "e": "x\n"})
    c2 = f.commit({"a": b"\x00now binary", "b": "now text\n", "c": Symlink("a"), "d": "now a file\n",
                   "e": Exec("x\n")})
    cc = [cc for cc in iter_changes(f.path, ReplayConfig()) if cc.commit == c2][0]
    kinds = _kinds(cc)
    assert ("add", None, "b") in kinds and ("add", None, "d") in kinds   # unshowable -> text: typed anew
    assert ("delete", "c", None) in kinds                                 # text -> symlink: text goes away
    assert not any(k[2] == "a" or k[1] == "a" for k in kinds)             # text -> binary: skipped
    # a type change is a delete plus an add in libgit2: the new link "c" and the old link "d"
    assert cc.skipped == {"binary": 1, "symlink": 2, "mode_only": 1}


def test_long_line_guard(tmp_path):
    f = RepoFactory(tmp_path / "r")
    f.commit({"min.js": "x" * 50 + "\n" + "y" * 300, "ok.txt": "z" * 200 + "\n" * 200})
    cc = next(iter_changes(f.path, ReplayConfig(files=FileFilterConfig(max_line_length=250))))
    assert _kinds(cc) == [("add", None, "ok.txt")] and cc.skipped == {"long_line": 1}
    assert len(next(iter_changes(f.path, ReplayConfig(files=NO_FILTERS))).changes) == 2   # filters off


def test_unknown_commit_in_an_explicit_slice(tmp_path):
    f, ids = _linear(tmp_path, 2)
    with pytest.raises(RepoError, match="not a commit"):
        list(iter_changes(f.path, ReplayConfig(), commits=[ids[0], "ab" * 20]))
    with pytest.raises(RepoError, match="not a commit"):
        list(iter_changes(f.path, ReplayConfig(), commits=["zz-not-hex"]))
