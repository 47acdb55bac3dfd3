"""The diff model: before text + after text -> an ordered list of character edits.

Lines are split on "\\n" only and keep their terminator, so "\\r", a missing final
newline and trailing spaces are ordinary content (exactly as git sees them). Line
ranges come from libgit2's diff (C, Myers) with zero context; inside a changed block,
old and new lines are paired and each pair is edited in place (common prefix and
suffix kept, the differing span deleted and retyped) unless cutting the line and
retyping it is cheaper; unpaired old lines are cut, unpaired new lines typed.

Every :class:`Edit` is positioned in *after* coordinates: edits are applied top to
bottom, so when edit k runs the buffer is ``after[:q] + before[p:]`` and everything
above the cursor is already final. That makes each position (line, col) a lookup in
the after text, independent of what earlier edits did.
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass
from typing import Sequence

import pygit2
from pygit2.enums import DiffOption


@dataclass(frozen=True)
class Edit:
    """Replace ``delete`` (found at before-offset ``p``) by ``insert``, at after-offset ``q``.

    ``line``/``col`` (0-based, col in code points) locate ``q`` in the buffer at the
    time the edit runs; ``line_len`` is the length of that line then (without "\\n").
    """

    q: int
    p: int
    line: int
    col: int
    line_len: int
    delete: str
    insert: str


def split_lines(text: str) -> list[str]:
    """Split on "\\n" only, keeping terminators ("a\\nb" -> ["a\\n", "b"]; "" -> [])."""
    parts = text.split("\n")
    lines = [s + "\n" for s in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_starts(text: str) -> list[int]:
    """Offsets where each logical line of ``text`` starts (always starts with 0)."""
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def line_blocks(before: str, after: str, a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """Changed line blocks ``(i1, i2, j1, j2)``: ``a[i1:i2]`` becomes ``b[j1:j2]``, in order."""
    if not a or not b:
        return [(0, len(a), 0, len(b))] if (a or b) else []
    patch = pygit2.Patch.create_from(
        before.encode("utf-8"), after.encode("utf-8"), flag=DiffOption.FORCE_TEXT, context_lines=0
    )
    blocks = []
    for h in patch.hunks:
        # With zero context a pure insertion (old_lines == 0) goes *after* line old_start.
        i1 = h.old_start if h.old_lines == 0 else h.old_start - 1
        j1 = h.new_start if h.new_lines == 0 else h.new_start - 1
        blocks.append((i1, i1 + h.old_lines, j1, j1 + h.new_lines))
    if not _blocks_ok(blocks, a, b):  # never trust a line model we did not check: fall back
        sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
        blocks = [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
    return blocks


def _blocks_ok(blocks: list[tuple[int, int, int, int]], a: Sequence[str], b: Sequence[str]) -> bool:
    # The unchanged stretches between blocks must be identical and equally long on both sides.
    ia = jb = 0
    for i1, i2, j1, j2 in blocks:
        if i1 < ia or j1 < jb or i1 - ia != j1 - jb or i2 < i1 or j2 < j1:
            return False
        if a[ia:i1] != b[jb:j1]:
            return False
        ia, jb = i2, j2
    return len(a) - ia == len(b) - jb and a[ia:] == b[jb:] and ia <= len(a) and jb <= len(b)


def _common_prefix(x: str, y: str) -> int:
    n = min(len(x), len(y))
    if x[:n] == y[:n]:
        return n
    lo, hi = 0, n  # binary search on slice equality: C-speed compares for long lines
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[:mid] == y[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(x: str, y: str, limit: int) -> int:
    n = min(len(x), len(y), limit)
    if n == 0:
        return 0
    if x[len(x) - n:] == y[len(y) - n:]:
        return n
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if x[len(x) - mid:] == y[len(y) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def edit_script(before: str, after: str) -> list[Edit]:
    """The edits that turn ``before`` into ``after`` (empty when they are equal)."""
    if before == after:
        return []
    a, b = split_lines(before), split_lines(after)
    a_starts = _starts(a)
    b_starts = _starts(b)
    starts = line_starts(after)
    raw: list[tuple[int, int, str, str]] = []  # (q, p, delete, insert)
    for i1, i2, j1, j2 in line_blocks(before, after, a, b):
        n = min(i2 - i1, j2 - j1)
        for k in range(n):
            x, y = a[i1 + k], b[j1 + k]
            qa, pa = b_starts[j1 + k], a_starts[i1 + k]
            pre = _common_prefix(x, y)
            suf = _common_suffix(x, y, min(len(x), len(y)) - pre)
            dx, iy = x[pre:len(x) - suf], y[pre:len(y) - suf]
            body = len(x) - (1 if x.endswith("\n") else 0)
            # keys in place: reach col `pre` (from col 0 or End), Delete each, type the rest;
            # retype: one Ctrl-K (only a whole line can be cut) and type the whole new line.
            in_place = min(pre, 1 + body - pre) + len(dx) + len(iy)
            retype = 1 + len(y)
            if retype < in_place and (x.endswith("\n") or i1 + k == len(a) - 1):
                raw.append((qa, pa, x, y))
            else:
                raw.append((qa + pre, pa + pre, dx, iy))
        if i2 - i1 > n:   # old lines left over: cut them (they start at a line start)
            raw.append((b_starts[j1 + n], a_starts[i1 + n], "".join(a[i1 + n:i2]), ""))
        if j2 - j1 > n:   # new lines left over: type them
            raw.append((b_starts[j1 + n], a_starts[i1 + n], "", "".join(b[j1 + n:j2])))
    edits = []
    for q, p, d, ins in raw:
        line = bisect.bisect_right(starts, q) - 1
        col = q - starts[line]
        nl = before.find("\n", p)
        rest = (nl if nl != -1 else len(before)) - p
        edits.append(Edit(q, p, line, col, col + rest, d, ins))
    return edits


def _starts(lines: Sequence[str]) -> list[int]:
    out = [0]
    for s in lines:
        out.append(out[-1] + len(s))
    return out


def apply_edits(before: str, edits: Sequence[Edit]) -> str:
    """Apply ``edits`` to ``before`` in plain Python (a model of the editor for tests)."""
    buf = before
    for e in edits:
        assert buf[e.q:e.q + len(e.delete)] == e.delete, (e, buf[e.q:e.q + len(e.delete)])
        buf = buf[:e.q] + e.insert + buf[e.q + len(e.delete):]
    return buf
