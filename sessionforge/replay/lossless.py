"""The lossless check: after a commit, every file the editor touched equals git's blob.

Only the files of the commit's replayed changes are compared (cheap: O(bytes touched)),
byte for byte against the new blob (so CRLF, a missing final newline, trailing spaces
and tabs all count), and deleted or renamed-away paths must be gone from the editor's
disk. A mismatch is reported with the first differing byte offset, never fixed silently.
Skipped changes (filtered, binary, ...) are not in ``changes``: their git version was never
typed, so there is nothing to compare (replay closes such a file if the editor held it).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from sessionforge.replay.gitwalk import FileChange


def check_changes(disk: Mapping[str, str], changes: Sequence[FileChange]) -> list[tuple[str, str]]:
    """``(path, cause)`` for every touched file whose editor copy differs from git."""
    failures: list[tuple[str, str]] = []
    for ch in changes:
        if ch.kind in ("delete", "rename") and ch.old_path in disk and ch.old_path != ch.new_path:
            failures.append((ch.old_path, "deleted in git but still present in the editor"))  # type: ignore[arg-type]
        if ch.new_path is None:
            continue
        text = disk.get(ch.new_path)
        if text is None:
            failures.append((ch.new_path, "missing from the editor after the commit"))
            continue
        got = text.encode("utf-8", "surrogatepass")
        want = ch.new_data if ch.new_data is not None else b""
        if got != want:
            failures.append((ch.new_path, _describe(got, want)))
    return failures


def _describe(got: bytes, want: bytes) -> str:
    n = min(len(got), len(want))
    at = next((i for i in range(n) if got[i] != want[i]), n)
    return (f"content differs at byte {at} (editor has {len(got)} bytes, git {len(want)}): "
            f"editor {got[at:at + 12]!r} vs git {want[at:at + 12]!r}")
