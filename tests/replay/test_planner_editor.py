"""Planner property tests through the real Editor: any before/after -> buffer equals after."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.editor import Editor
from sessionforge.replay.edits import edit_script
from sessionforge.replay.planner import Planner

# Pieces of every shape: CRLF, lone CR, tabs, wide/combining/emoji, C0/C1 controls,
# escape sequences, DEL, trailing spaces, blank lines; missing final newline comes free.
PIECES = ["a", "bc", "xyz", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "é", "e\u0301", "漢字", "🙂",
          "👨\u200d👩\u200d👧", "\x1b[2J", "\x1b]0;t\x07", "\x07", "\x00", "\x7f", "\u0085", "\u009b", "\ufeff"]
texts = st.lists(st.sampled_from(PIECES), max_size=50).map("".join)


def replay(before: str, after: str, rows: int = 12, cols: int = 40, cfg: ReplayConfig | None = None,
           seed: str | None = None) -> tuple[Editor, list[bytes]]:
    ed = Editor(rows, cols, disk={"dir/f.txt": before})
    keys: list[bytes] = []

    def press(k: bytes) -> None:
        keys.append(k)
        ed.press(k)

    p = Planner(ed, press, cfg or ReplayConfig())
    if seed is not None:
        p.rng = random.Random(seed)
    p.open("dir/f.txt", None)
    p.apply(edit_script(before, after), before)
    p.save()
    return ed, keys


@settings(max_examples=150, deadline=None)
@given(texts, texts)
def test_any_texts_replay_exactly(before, after):
    ed, _ = replay(before, after)
    assert ed.disk["dir/f.txt"] == after
    assert ed.text == after


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["x = 1", "y = 2", "    return z", "", "\tz", "漢字 = 3"]), min_size=1, max_size=200),
       st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["edit", "del", "ins"])), min_size=1, max_size=5))
def test_long_files_small_viewport(lines, ops):
    # a 12-row screen makes every jump leave the viewport: PgDn and Ctrl-G get used
    before = "\n".join(lines) + "\n"
    after_lines = list(lines)
    for at, op in ops:
        i = at % len(after_lines) if after_lines else 0
        if op == "edit" and after_lines:
            after_lines[i] += " # edit"
        elif op == "del" and after_lines:
            del after_lines[i]
        else:
            after_lines.insert(i, "new line")
    after = "\n".join(after_lines) + "\n"
    ed, _ = replay(before, after)
    assert ed.disk["dir/f.txt"] == after


def test_navigation_uses_cheap_keys():
    before = "".join(f"line {i}\n" for i in range(2000))
    after = before.replace("line 1500\n", "line 1500 changed\n")
    ed, keys = replay(before, after, rows=48, cols=160)
    assert ed.disk["dir/f.txt"] == after
    assert b"\x07" in keys                            # a long jump goes through Ctrl-G
    assert len(keys) < 3 + len("dir/f.txt") + 2 + 6 + len(" changed") + 12
    before = "".join(f"line {i}\n" for i in range(200))
    after = before.replace("line 90\n", "line 90!\n")
    ed, keys = replay(before, after, rows=48, cols=160)   # 90 lines = 2 pages of 45 rows
    assert ed.disk["dir/f.txt"] == after
    assert keys.count(b"\x1b[6~") == 2


def test_long_line_edit_near_end_is_cheap():
    line = "abcdefghij" * 10_000
    before, after = line + "\n", line[:-5] + "XYZ" + line[-3:] + "\n"
    ed, keys = replay(before, after, rows=48, cols=160)
    assert ed.disk["dir/f.txt"] == after
    assert b"\x1b[F" in keys and len(keys) < 40       # End + a few Left, not 100k Right


def test_realism_replays_exactly_and_deterministically():
    before = "".join(f"def f{i}(x):\n    return x\n\n" for i in range(60))
    after = before.replace("return x", "return x + 1  # with more words", 9)
    cfg = ReplayConfig(typo_rate=0.2, wander_rate=0.5)
    ed1, keys1 = replay(before, after, cfg=cfg, seed="1:c")
    ed2, keys2 = replay(before, after, cfg=cfg, seed="1:c")
    ed3, keys3 = replay(before, after, cfg=cfg, seed="2:c")
    assert ed1.disk["dir/f.txt"] == ed2.disk["dir/f.txt"] == ed3.disk["dir/f.txt"] == after
    assert keys1 == keys2 and keys1 != keys3
