"""LongLine: a long logical line held as chunks, with an index of display columns.

Typing into a ``str`` copies the whole line, and finding the cell column of a code
point lays out everything before it: both grow with the line, so a key typed into a
line of 100,000 code points would cost a thousand times one typed into a short line.
The editor holds lines of ``max(LONG, 2 * cols)`` code points or more as a
:class:`LongLine` instead, where a key costs O(:data:`CHUNK`) whatever the length.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Union

from . import display
from .display import advance, after, describe, lay

LONG = 512     # the editor holds lines of max(LONG, 2 * cols) code points or more as LongLine
CHUNK = 64     # code points per chunk of a LongLine; a chunk is split past 2 * CHUNK


class LongLine:
    """A long logical line held as chunks of text, with an index of display columns.

    Typing into a ``str`` copies the whole line, and finding the cell column of a code
    point lays out everything before it: both grow with the line. Here an edit rebuilds
    one chunk, and the cell column where each chunk starts is kept for a prefix of the
    chunks (``xs[j]``, valid for ``j < nvalid``): an edit in chunk ``j`` invalidates only
    the chunks after it, and a query extends the valid prefix one chunk at a time from
    each chunk's :func:`describe` (O(1) each). Edits and queries near the cursor so cost
    O(CHUNK) whatever the length; a jump far to the right costs one step per chunk
    crossed, once.

    It reads like a ``str`` where the editor reads lines: ``len``, slicing (returns a
    ``str``), ``str()`` for the whole text.
    """

    __slots__ = ("parts", "fns", "starts", "xs", "nvalid", "n")

    def __init__(self, parts: list[str]) -> None:
        self.parts = [p for p in parts if p]
        k = len(self.parts)
        self.fns: list[tuple[int, int] | None] = [None] * k  # describe(part), filled on demand
        self.starts = [0] * k  # code point where chunk j starts  } valid for j < nvalid
        self.xs = [0] * k      # cell column where chunk j starts  }
        self.nvalid = 1 if k else 0
        self.n = sum(map(len, self.parts))

    @classmethod
    def of(cls, text: str) -> "LongLine":
        """A LongLine holding ``text``."""
        return cls([text[i:i + CHUNK] for i in range(0, len(text), CHUNK)])

    def __len__(self) -> int:
        return self.n

    def __str__(self) -> str:
        return "".join(self.parts)

    def __getitem__(self, key: slice) -> str:
        a, b, step = key.indices(self.n)
        if step != 1:
            raise ValueError("LongLine slices take no step")
        if a >= b:
            return ""
        j = self._find(a)
        out = []
        s = self.starts[j]
        parts = self.parts
        while s < b:  # chunks past the valid prefix: their starts follow from the lengths
            p = parts[j]
            out.append(p[max(0, a - s):b - s])
            s += len(p)
            j += 1
        return "".join(out)

    def _find(self, c: int) -> int:
        """The chunk holding code point ``c`` (the last chunk for ``c == len``); the index
        is made valid up to it."""
        parts, starts, nv = self.parts, self.starts, self.nvalid
        j = nv - 1
        if c < starts[j] + len(parts[j]):
            return bisect_right(starts, c, 0, nv) - 1
        xs, fns, last = self.xs, self.fns, len(parts) - 1
        while j < last and starts[j] + len(parts[j]) <= c:
            d = fns[j]
            if d is None:
                d = fns[j] = describe(parts[j])
            starts[j + 1] = starts[j] + len(parts[j])
            xs[j + 1] = after(d, xs[j])
            j += 1
        display.WORK[0] += j + 1 - nv
        self.nvalid = j + 1
        return j

    def x_at(self, c: int) -> int:
        """Cell column where code point ``c`` starts (``c == len``: the line's width)."""
        if c <= 0 or not self.parts:
            return 0
        j = self._find(c)
        return advance(self.parts[j][:c - self.starts[j]], self.xs[j])

    def cells_from(self, off: int, need: int) -> tuple[int, str, str]:
        """``(x0, cells, styles)``: the line laid out from a code point that starts at cell
        ``x0 <= off``, covering cells ``off .. off + need - 1`` or reaching the line's end.

        Call :meth:`x_at` for a column at or right of ``off`` first (the editor asks for
        the cursor's): the chunk holding cell ``off`` is then in the valid prefix.
        """
        if not self.parts:
            return 0, "", ""
        j = max(0, bisect_right(self.xs, off, 0, self.nvalid) - 1)
        s, x0 = self.starts[j], self.xs[j]
        m = len(self.parts[j]) + need
        while True:
            cells, styles = lay(self[s:s + m], x0)
            if x0 + len(cells) >= off + need or s + m >= self.n:
                return x0, cells, styles
            m *= 2

    def insert(self, k: int, ch: str) -> None:
        """Insert ``ch`` before code point ``k``."""
        if not self.parts:
            self.parts, self.fns, self.starts, self.xs, self.nvalid, self.n = [ch], [None], [0], [0], 1, len(ch)
            return
        j = self._find(k)
        p = self.parts[j]
        i = k - self.starts[j]
        p = p[:i] + ch + p[i:]
        if len(p) > 2 * CHUNK:
            h = len(p) // 2
            self.parts[j:j + 1] = [p[:h], p[h:]]
            self.fns[j:j + 1] = [None, None]
            self.starts.insert(j + 1, 0)
            self.xs.insert(j + 1, 0)
        else:
            self.parts[j] = p
            self.fns[j] = None
        self.nvalid = j + 1  # chunk j still starts where it did; later ones moved
        self.n += len(ch)

    def delete(self, k: int) -> None:
        """Remove code point ``k`` (``k < len``)."""
        j = self._find(k)
        p = self.parts[j]
        i = k - self.starts[j]
        p = p[:i] + p[i + 1:]
        self.n -= 1
        if p:
            self.parts[j] = p
            self.fns[j] = None
            self.nvalid = j + 1
            return
        for lst in (self.parts, self.fns, self.starts, self.xs):
            del lst[j]
        if j == 0 and self.parts:
            self.starts[0] = self.xs[0] = 0
        self.nvalid = max(j, 1) if self.parts else 0

    def split(self, k: int) -> tuple["LongLine", "LongLine"]:
        """The text before and after code point ``k``."""
        if not self.parts:
            return LongLine([]), LongLine([])
        j = self._find(k)
        p, i = self.parts[j], k - self.starts[j]
        left = LongLine(self.parts[:j] + [p[:i]])
        keep = min(j, len(left.parts))  # chunks before j keep their descriptions and places
        left.fns[:keep] = self.fns[:keep]
        left.starts[:keep] = self.starts[:keep]
        left.xs[:keep] = self.xs[:keep]
        left.nvalid = max(1, keep) if left.parts else 0
        rest = self.parts[j + 1:]
        right = LongLine([p[i:]] + rest)
        right.fns[len(right.parts) - len(rest):] = self.fns[j + 1:]  # descriptions do not depend on place
        return left, right

    @staticmethod
    def join(a: "Line", b: "Line") -> "LongLine":
        """The line ``a + b``."""
        left = a if isinstance(a, LongLine) else LongLine.of(a)
        right = b if isinstance(b, LongLine) else LongLine.of(b)
        out = LongLine(left.parts + right.parts)
        keep = min(left.nvalid, len(left.parts))
        out.fns = left.fns + right.fns
        out.starts[:keep] = left.starts[:keep]
        out.xs[:keep] = left.xs[:keep]
        out.nvalid = max(1, keep) if out.parts else 0
        return out


Line = Union[str, LongLine]
