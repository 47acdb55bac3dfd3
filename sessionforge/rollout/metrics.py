"""How a rollout compares with what the programmer did.

* **token agreement** over the first K keys: the share of the first K frames after the
  hand-over whose target token (the first token that starts in the next frame's keys, or
  ``<cont>``; ``model/tokenizer.py``) equals the recorded one. Both sides are tokenized
  from the hand-over on, as training tokenizes a window from its first frame.
* **keys to divergence**: how many frames after the hand-over carry exactly the recorded
  key bytes before the first that does not (all of them when none differs).
* **file distance**: the Levenshtein distance (insert, delete, substitute one code point)
  between each file the rollout's editor holds and the same file in the recording after
  the same number of keys ("same point"), and the file as the commit in progress at the
  hand-over left it in git ("commit end"). Paths are the union of what either side knows
  (:class:`~sessionforge.rollout.disk.FileState`).

:func:`edit_distance` strips the common prefix and suffix (a rollout usually changes a small
region of a large file), then runs Myers' bit-vector algorithm (Myers 1999, in Hyyrö's
formulation) with Python integers as bit vectors: O(n * m / 64) word operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sessionforge.rollout.disk import FileState, TreeFiles


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b`` in code points."""
    if a == b:
        return 0
    n = min(len(a), len(b))
    lo = 0
    while lo < n and a[lo] == b[lo]:
        lo += 1
    hi = 0
    while hi < n - lo and a[-1 - hi] == b[-1 - hi]:
        hi += 1
    a, b = a[lo:len(a) - hi], b[lo:len(b) - hi]
    if len(a) > len(b):
        a, b = b, a  # the shorter one is the bit vector
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full  # the top row of the DP table grows by one per character of b
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


def token_agreement(ours: Sequence[int], recorded: Sequence[int], k: int) -> float | None:
    """Share of the first ``k`` positions (as far as both go) where the target tokens agree."""
    n = min(k, len(ours), len(recorded))
    if n <= 0:
        return None
    return sum(int(a == b) for a, b in zip(ours[:n], recorded[:n])) / n


def keys_to_divergence(ours: Sequence[bytes], recorded: Sequence[bytes]) -> int:
    """Frames, from the first after the hand-over, whose key bytes equal the recorded ones
    before the first that differs (the shorter length when none does)."""
    n = 0
    for a, b in zip(ours, recorded):
        if a != b:
            break
        n += 1
    return n


@dataclass
class FileDistance:
    """One path: its length on each side and the edit distance between them."""

    path: str
    ours: int
    theirs: int
    distance: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "ours": self.ours, "theirs": self.theirs, "distance": self.distance}


def compare_files(ours: FileState, theirs: FileState, base: TreeFiles) -> list[FileDistance]:
    """Per path (sorted), our text against theirs, unknown paths read from ``base`` on both sides."""
    out = []
    for path in sorted(set(ours.known) | set(theirs.known)):
        a, b = ours.text(path, base), theirs.text(path, base)
        out.append(FileDistance(path, len(a), len(b), edit_distance(a, b)))
    return out


def compare_with_tree(ours: FileState, paths: Sequence[str], base: TreeFiles, tree: TreeFiles) -> list[FileDistance]:
    """Per path of ``paths`` (sorted), our text against ``tree``'s version ("" when absent)."""
    out = []
    for path in sorted(set(paths)):
        a, b = ours.text(path, base), tree(path) or ""
        out.append(FileDistance(path, len(a), len(b), edit_distance(a, b)))
    return out


__all__ = ["FileDistance", "compare_files", "compare_with_tree", "edit_distance", "keys_to_divergence",
           "token_agreement"]
