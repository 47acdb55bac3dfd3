"""Planner against a tiny text-only model of the editor's key semantics (KEYMAP contract).

The model has no screen: it only applies keys to a buffer, exactly as the Editor
contract describes them. It lets the planner's logic be tested in isolation and fast;
test_planner_editor.py runs the same properties through the real editor.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.edits import edit_script
from sessionforge.replay.planner import Planner


class ModelEditor:
    """Buffer-only model of the Editor contract (no rendering)."""

    def __init__(self, rows: int = 48, cols: int = 160, disk=None):
        self.disk = disk if disk is not None else {}
        self.path = None
        self.lines = [""]
        self.cursor_line = self.cursor_col = self.top_line = 0
        self.text_rows = rows - 4
        self.prompt = None
        self._answer = ""
        self._want = 0
        self._verbatim = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def _insert(self, s: str) -> None:
        ln = self.lines[self.cursor_line]
        c = self.cursor_col
        if s == "\n":
            self.lines[self.cursor_line: self.cursor_line + 1] = [ln[:c], ln[c:]]
            self.cursor_line += 1
            self.cursor_col = 0
        else:
            self.lines[self.cursor_line] = ln[:c] + s + ln[c:]
            self.cursor_col += 1
        self._want = self.cursor_col

    def _vert(self, n: int) -> None:
        self.cursor_line = max(0, min(len(self.lines) - 1, self.cursor_line + n))
        self.cursor_col = min(self._want, len(self.lines[self.cursor_line]))

    def press(self, key: bytes) -> bytes:
        if self._verbatim:
            self._verbatim = False
            self._insert(key.decode("utf-8"))
            return b""
        if self.prompt is not None:
            if key == b"\r":
                kind, ans = self.prompt, self._answer
                self.prompt = None
                if kind == "goto":
                    self.cursor_line = max(0, min(len(self.lines) - 1, int(ans) - 1))
                    self.cursor_col = self._want = 0
                elif kind == "open":
                    self.path = ans
                    self.lines = self.disk.get(ans, "").split("\n")
                    self.cursor_line = self.cursor_col = self._want = 0
                elif kind == "rename":
                    self.disk.pop(self.path, None)
                    self.path = ans
                    self.disk[ans] = self.text
            elif key == b"\x03":
                self.prompt = None
            elif key == b"\x7f":
                self._answer = self._answer[:-1]
            else:
                self._answer += key.decode("utf-8")
            return b""
        ln = self.lines[self.cursor_line]
        simple = {b"\x07": "goto", b"\x0f": "open", b"\x1br": "rename"}
        if key in simple:
            self.prompt, self._answer = simple[key], ""
        elif key == b"\x1bv":
            self._verbatim = True
        elif key == b"\r":
            self._insert("\n")
        elif key == b"\x13":
            self.disk[self.path] = self.text
        elif key == b"\x1bd":
            self.disk.pop(self.path, None)
            self.path, self.lines = None, [""]
            self.cursor_line = self.cursor_col = 0
        elif key == b"\x0b":
            if self.cursor_line < len(self.lines) - 1:
                del self.lines[self.cursor_line]
            else:
                self.lines[self.cursor_line] = ""
            self.cursor_col = self._want = 0
        elif key == b"\x7f":
            if self.cursor_col:
                self.lines[self.cursor_line] = ln[: self.cursor_col - 1] + ln[self.cursor_col:]
                self.cursor_col -= 1
            elif self.cursor_line:
                prev = self.lines[self.cursor_line - 1]
                self.lines[self.cursor_line - 1: self.cursor_line + 1] = [prev + ln]
                self.cursor_line -= 1
                self.cursor_col = len(prev)
            self._want = self.cursor_col
        elif key == b"\x1b[3~":
            if self.cursor_col < len(ln):
                self.lines[self.cursor_line] = ln[: self.cursor_col] + ln[self.cursor_col + 1:]
            elif self.cursor_line < len(self.lines) - 1:
                self.lines[self.cursor_line: self.cursor_line + 2] = [ln + self.lines[self.cursor_line + 1]]
        elif key == b"\x1b[A":
            self._vert(-1)
        elif key == b"\x1b[B":
            self._vert(1)
        elif key == b"\x1b[5~":
            self._vert(-self.text_rows)
        elif key == b"\x1b[6~":
            self._vert(self.text_rows)
        elif key == b"\x1b[C":
            if self.cursor_col < len(ln):
                self.cursor_col += 1
            elif self.cursor_line < len(self.lines) - 1:
                self.cursor_line, self.cursor_col = self.cursor_line + 1, 0
            self._want = self.cursor_col
        elif key == b"\x1b[D":
            if self.cursor_col:
                self.cursor_col -= 1
            elif self.cursor_line:
                self.cursor_line -= 1
                self.cursor_col = len(self.lines[self.cursor_line])
            self._want = self.cursor_col
        elif key == b"\x1b[H":
            self.cursor_col = self._want = 0
        elif key == b"\x1b[F":
            self.cursor_col = self._want = len(ln)
        else:
            self._insert(key.decode("utf-8"))
        return b""


def replay_model(before: str, after: str, cfg: ReplayConfig | None = None, start_line: int = 0):
    ed = ModelEditor(disk={"f.txt": before})
    keys: list[bytes] = []

    def press(k: bytes) -> None:
        keys.append(k)
        ed.press(k)

    planner = Planner(ed, press, cfg or ReplayConfig())
    planner.open("f.txt", None)
    planner.apply(edit_script(before, after), before)
    planner.save()
    return ed, keys


PIECES = ["a", "bc", "xyz", " ", "\t", "\n", "\r\n", "\r", "\n\n", "é", "e\u0301", "漢", "🙂", "\x1b[2J",
          "\x07", "\x7f", "\u0085", "\u009b"]
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_model_replay_reaches_after(before, after):
    ed, _ = replay_model(before, after)
    assert ed.disk["f.txt"] == after
    assert ed.text == after


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["x = 1", "y = 2", "    return z", "", "# c", "\tz"]), min_size=1, max_size=300),
       st.data())
def test_model_long_files_navigate(lines, data):
    before = "\n".join(lines) + "\n"
    after_lines = list(lines)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(after_lines) - 1))
        after_lines[i] = after_lines[i] + " # edit"
    after = "\n".join(after_lines) + "\n"
    ed, keys = replay_model(before, after)
    assert ed.disk["f.txt"] == after
    # navigation stays cheap: a bounded number of keys per edit plus one walk over the file
    edits = edit_script(before, after)
    typed = sum(len(e.insert) for e in edits)
    deleted = sum(len(e.delete) for e in edits)
    assert len(keys) <= 8 + typed + deleted + 12 * len(edits) + len(lines)


def test_realism_is_deterministic_and_lossless():
    import random

    before = "def f(x):\n    return x\n" * 30
    after = before.replace("return x", "return x + 1  # more text here", 7)
    cfg = ReplayConfig(typo_rate=0.3, wander_rate=0.5)
    runs = []
    for _ in range(2):
        ed = ModelEditor(disk={"f.txt": before})
        keys: list[bytes] = []

        def press(k: bytes) -> None:
            keys.append(k)
            ed.press(k)

        p = Planner(ed, press, cfg)
        p.rng = random.Random("0:abc")
        p.open("f.txt", None)
        p.apply(edit_script(before, after), before)
        p.save()
        assert ed.disk["f.txt"] == after
        runs.append(keys)
    assert runs[0] == runs[1]
    assert b"\x7f" in runs[0]  # typos were made and fixed
    plain = replay_model(before, after)[1]
    assert len(runs[0]) > len(plain)
