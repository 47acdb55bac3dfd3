"""The lossless check compares bytes exactly and names what differs."""

from __future__ import annotations

from sessionforge.replay.gitwalk import FileChange
from sessionforge.replay.lossless import check_changes


def _mod(path: str, new: str) -> FileChange:
    return FileChange("modify", path, path, "old", new, new.encode("utf-8"))


def test_equal_files_pass():
    changes = [_mod("a", "x\r\ny"), FileChange("delete", "b", None, "gone", None, None),
               FileChange("rename", "c", "d", "t", "t\n", b"t\n")]
    assert check_changes({"a": "x\r\ny", "d": "t\n"}, changes) == []


def test_every_kind_of_difference_is_reported():
    cases = {
        "crlf": ("x\r\ny\r\n", "x\ny\n"),
        "final_newline": ("end\n", "end"),
        "trailing_space": ("a \n", "a\n"),
        "tab": ("\tx\n", "    x\n"),
        "unicode_form": ("e\u0301\n", "\u00e9\n"),
    }
    for name, (want, got) in cases.items():
        [(path, cause)] = check_changes({name: got}, [_mod(name, want)])
        assert path == name and "content differs at byte" in cause


def test_missing_and_leftover_files_are_reported():
    failures = check_changes({"old": "still here"}, [
        FileChange("delete", "old", None, "still here", None, None),
        FileChange("add", None, "new", None, "n\n", b"n\n"),
    ])
    assert [p for p, _ in failures] == ["old", "new"]
    assert "still present" in failures[0][1] and "missing" in failures[1][1]
