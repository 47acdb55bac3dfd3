"""Planner: file changes -> the keys a programmer would press in the editor.

The planner drives a live :class:`~sessionforge.replay.editor.Editor` through a
``press(key)`` callback (the pipeline's per-key step: editor -> terminal -> frame) and
reads the editor's state between keys, so navigation is exact whatever the editor's
viewport or remembered column did. Keys follow ``replay/KEYMAP.md``:

- open: Ctrl-O, the path typed, Enter (skipped when the file is already open and its
  buffer already holds the old text); save: Ctrl-S; delete: Alt-D; rename: Alt-R, the
  new path typed, Enter (the editor saves and moves the file), then edit + Ctrl-S if
  the content changed too; close (a file whose git version became skipped): Alt-D.
- navigation: the cheaper of arrow runs, PgUp/PgDn (+ arrows), or Ctrl-G line Enter;
  then the cheapest of arrows, Home + Right, End + Left within the line.
- deletion: Ctrl-K for whole lines from column 0, Delete for partial spans.
- typing: one key per character; Enter for "\\n", Tab for "\\t", Alt-V + the character
  for "\\r" and every other C0/C1 control or DEL.

Realism (seeded per commit by the caller, off by default): typos fixed with Backspace,
idle frames (empty action), a few wandering arrow keys before navigating.
"""

from __future__ import annotations

import random
from typing import Callable, Optional, Sequence

from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.edits import Edit

UP, DOWN, RIGHT, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D"
HOME, END, PGUP, PGDN = b"\x1b[H", b"\x1b[F", b"\x1b[5~", b"\x1b[6~"
ENTER, TAB, BACKSPACE, DELETE = b"\r", b"\t", b"\x7f", b"\x1b[3~"
CTRL_G, CTRL_O, CTRL_S, CTRL_K = b"\x07", b"\x0f", b"\x13", b"\x0b"
ALT_V, ALT_R, ALT_D = b"\x1bv", b"\x1br", b"\x1bd"

_TYPO_LETTERS = "etaoinshrdlu"


class PlannerError(AssertionError):
    """The editor did not end up where the planner expected (a bug, never user input)."""


def char_keys(ch: str) -> tuple[bytes, ...]:
    """The key presses that insert the single character ``ch``."""
    if ch == "\n":
        return (ENTER,)
    if ch == "\t":
        return (TAB,)
    o = ord(ch)
    if o < 0x20 or 0x7F <= o < 0xA0:  # includes "\r": typed verbatim, shown as ^M
        return (ALT_V, ch.encode("utf-8"))
    return (ch.encode("utf-8"),)


class _KeyCache(dict):
    """char -> its key tuple, filled on first use (typing is the hot loop)."""

    def __missing__(self, ch: str) -> tuple[bytes, ...]:
        keys = self[ch] = char_keys(ch)
        return keys


class Planner:
    """Emits the keys of file changes into ``editor`` through ``press``."""

    def __init__(self, editor, press: Callable[[bytes], None], cfg: ReplayConfig) -> None:
        self.ed = editor
        self.press = press
        self.cfg = cfg
        self.rng: Optional[random.Random] = None
        self._keys = _KeyCache()
        self._realism = cfg.typo_rate > 0 or cfg.wander_rate > 0

    # ------------------------------------------------------------------ file operations

    def open(self, path: str, expect_text: Optional[str]) -> None:
        """Make ``path`` the current buffer (Ctrl-O path Enter unless it already is)."""
        ed = self.ed
        if ed.prompt is not None:
            self.press(b"\x03")  # never expected; a clean editor has no prompt open
        if ed.path == path and expect_text is not None and ed.text == expect_text:
            return
        self.press(CTRL_O)
        self.type_plain(path)
        self.press(ENTER)
        if ed.path != path:
            raise PlannerError(f"open {path!r}: editor is on {ed.path!r}")

    def apply(self, edits: Sequence[Edit], before: str) -> None:
        """Run ``edits`` (``edit_script(before, after)``) on the current buffer, top to bottom."""
        for e in edits:
            if self._realism and self.rng is not None and self.rng.random() < self.cfg.wander_rate:
                self._wander()
            self.goto(e.line, e.col, e.line_len)
            if e.delete:
                self._delete(e, before)
            if e.insert:
                self.type_text(e.insert)

    def save(self) -> None:
        """Ctrl-S."""
        self.press(CTRL_S)

    def delete_file(self) -> None:
        """Alt-D: remove the current file from disk and close it."""
        self.press(ALT_D)

    def close_file(self) -> None:
        """Close the current buffer (its git version is no longer typed).

        The keymap has no key that closes a buffer and keeps the file: Alt-D (delete and
        close) is the one that closes. It only removes the file from the editor's scratch
        disk, which replay refills from git before every open, so nothing typed depends on it.
        """
        if self.ed.prompt is not None:
            self.press(b"\x03")
        self.press(ALT_D)

    def rename_to(self, new_path: str) -> None:
        """Alt-R, the new path, Enter: the editor saves the buffer and moves the file."""
        self.press(ALT_R)
        self.type_plain(new_path)
        self.press(ENTER)

    # ------------------------------------------------------------------------ navigation

    def goto(self, line: int, col: int, line_len: int) -> None:
        """Move the cursor to (line, col); ``line_len`` is that line's current length."""
        ed = self.ed
        press = self.press
        for _ in range(8):
            cur_line, cur_col = ed.cursor_line, ed.cursor_col
            if cur_line == line:
                if cur_col == col:
                    return
                d = col - cur_col
                options = ((abs(d), None, RIGHT if d > 0 else LEFT, abs(d)),
                           (1 + col, HOME, RIGHT, col),
                           (1 + line_len - col, END, LEFT, line_len - col))
                _, first, key, n = min(options, key=lambda o: o[0])
                if first is not None:
                    press(first)
                for _ in range(n):
                    press(key)
                continue
            dy = line - cur_line
            dist = abs(dy)
            est_col = min(cur_col, line_len)   # up/down keep (roughly) the column
            h_after_arrows = min(abs(col - est_col), 1 + col, 1 + line_len - col)
            h_after_goto = min(col, 1 + line_len - col)
            rows = max(1, ed.text_rows)
            pages = dist // rows
            best = ("arrows", dist + h_after_arrows)
            if pages:
                best = min(best, ("pages", pages + (dist - pages * rows) + h_after_arrows), key=lambda o: o[1])
                over = rows * (pages + 1) - dist
                best = min(best, ("pages+", pages + 1 + over + h_after_arrows), key=lambda o: o[1])
            goto_cost = 2 + len(str(line + 1)) + h_after_goto
            if goto_cost < best[1]:
                best = ("goto", goto_cost)
            kind = best[0]
            if kind == "goto":
                press(CTRL_G)
                self.type_plain(str(line + 1))
                press(ENTER)
            elif kind == "arrows":
                key = DOWN if dy > 0 else UP
                for _ in range(dist):
                    press(key)
            else:
                key = PGDN if dy > 0 else PGUP
                for _ in range(pages + (kind == "pages+")):
                    press(key)
        raise PlannerError(f"cannot reach line {line} col {col}: at {ed.cursor_line}:{ed.cursor_col}")

    def _wander(self) -> None:
        rng = self.rng
        assert rng is not None
        for _ in range(rng.randint(1, 4)):
            self.press(rng.choice((UP, DOWN, LEFT, RIGHT)))

    # ------------------------------------------------------------------ deleting, typing

    def _delete(self, e: Edit, before: str) -> None:
        """Delete ``e.delete`` at the cursor: Ctrl-K whole lines at column 0, else Delete."""
        press = self.press
        seg = e.delete
        if e.col != 0:
            for _ in range(len(seg)):
                press(DELETE)
            return
        whole = seg.rfind("\n") + 1            # chars in whole lines at the start of seg
        for _ in range(seg.count("\n")):
            press(CTRL_K)
        tail = len(seg) - whole
        if not tail:
            return
        start = e.p + whole
        nl = before.find("\n", start)
        self.goto(e.line, 0, (nl if nl != -1 else len(before)) - start)
        if nl == -1 and start + tail == len(before):
            press(CTRL_K)                        # the last line, no "\n": Ctrl-K takes its text
        else:
            for _ in range(tail):
                press(DELETE)

    def type_plain(self, s: str) -> None:
        """Type ``s`` with no realism (paths, line numbers)."""
        keys = self._keys
        press = self.press
        for ch in s:
            for k in keys[ch]:
                press(k)

    def type_text(self, s: str) -> None:
        """Type file content; with ``typo_rate`` some letters are mistyped then fixed."""
        if not self._realism or self.cfg.typo_rate <= 0 or self.rng is None:
            self.type_plain(s)
            return
        keys, press, rng, rate = self._keys, self.press, self.rng, self.cfg.typo_rate
        for ch in s:
            if "a" <= ch <= "z" and rng.random() < rate:
                wrong = rng.choice(_TYPO_LETTERS)
                if wrong != ch:
                    press(wrong.encode())
                    press(BACKSPACE)
            for k in keys[ch]:
                press(k)
