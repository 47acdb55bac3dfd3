"""The small parts of a rollout, checked by hand: keys, sampling, the disk, the metrics."""

from __future__ import annotations

import random

import numpy as np

from sessionforge.model.tokenizer import CONT
from sessionforge.rollout.disk import NO_NAME, FileState, RepoDisk
from sessionforge.rollout.keys import sample, split_keys
from sessionforge.rollout.metrics import (
    compare_files, compare_with_tree, edit_distance, keys_to_divergence, token_agreement,
)


def test_split_keys_gives_one_key_per_frame_as_replay_presses_them():
    assert split_keys(b"def ") == [b"d", b"e", b"f", b" "]
    assert split_keys(b"\x1b[B" * 3) == [b"\x1b[B"] * 3
    assert split_keys(b"\r    x") == [b"\r", b" ", b" ", b" ", b" ", b"x"]
    assert split_keys(b"\x1b[3~\x1b[6~\x1bOP") == [b"\x1b[3~", b"\x1b[6~", b"\x1bOP"]
    assert split_keys(b"\x1bv\r") == [b"\x1bv", b"\r"]  # Alt-V, then the character it quotes
    assert split_keys("é€😀".encode()) == ["é".encode(), "€".encode(), "😀".encode()]
    assert split_keys(b"\xc3") == [b"\xc3"]  # a character cut short: one key the editor drops
    assert split_keys(b"\x1b") == [b"\x1b"] and split_keys(b"\x1b\x1b[A") == [b"\x1b", b"\x1b[A"]
    assert split_keys(b"\x1b[") == [b"\x1b["] and split_keys(b"") == []


def test_sampling_is_seeded_greedy_at_zero_and_cut_to_top_k():
    logits = np.array([0.0, 2.0, 1.0, 2.0, -1.0])
    assert sample(logits, 0.0, 0, np.random.default_rng(0)) == 1  # greedy, ties to the lower id
    draws = [sample(logits, 1.0, 0, np.random.default_rng(7)) for _ in range(3)]
    assert len(set(draws)) == 1  # the same seed, the same draw
    rng = np.random.default_rng(1)
    assert {sample(logits, 5.0, 2, rng) for _ in range(200)} == {1, 3}  # only the two largest
    rng = np.random.default_rng(2)
    assert len({sample(logits, 100.0, 0, rng) for _ in range(400)}) == 5  # hot: every id shows up


def _dp(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_edit_distance_is_levenshtein():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3 and edit_distance("same", "same") == 0
    assert edit_distance("def f():\n    return 1\n", "def f():\n    return 2\n") == 1
    assert edit_distance("x" * 300 + "ab" + "y" * 300, "x" * 300 + "ba" + "y" * 300) == 2
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("ab\n") for _ in range(rng.randint(0, 90)))
        assert edit_distance(a, b) == _dp(a, b), (a, b)


def test_agreement_and_divergence_on_a_toy_case():
    recorded = [5, CONT, 7, 8]  # targets of frames F..F+3
    ours = [5, CONT, 9, 8]
    assert token_agreement(ours, recorded, 2) == 1.0
    assert token_agreement(ours, recorded, 4) == 0.75
    assert token_agreement(ours, recorded, 10) == 0.75  # as far as both go
    assert token_agreement([], recorded, 4) is None
    assert keys_to_divergence([b"a", b"b", b"x"], [b"a", b"b", b"c"]) == 2
    assert keys_to_divergence([b"a"], [b"a", b"b"]) == 1 and keys_to_divergence([b"q"], [b"a"]) == 0


class _Editor:
    def __init__(self, disk, path, text):
        self.disk, self.path, self.text = disk, path, text


def test_the_disk_reads_the_tree_remembers_deletions_and_forgotten_files():
    tree = {"a.py": "A\n", "b.py": "B\n", "c.py": "C\n"}.get
    disk = RepoDisk({"a.py": "A2\n"}, tree)
    assert disk.get("a.py", "") == "A2\n" and disk.get("b.py", "") == "B\n" and disk.get("nope", "") == ""
    disk.pop("b.py", None)  # Alt-D
    assert disk.get("b.py", "") == "" and "b.py" in disk.deleted
    disk["b.py"] = "B3\n"  # saved again
    assert disk.get("b.py", "") == "B3\n" and not disk.deleted
    del disk["a.py"]  # the pipeline forgets a file after a commit: it keeps the text it had
    assert disk.forgotten == {"a.py": "A2\n"} and "a.py" not in disk
    state = FileState.of(_Editor(disk, "c.py", "C edited\n"))
    assert state.known == {"a.py": "A2\n", "b.py": "B3\n", "c.py": "C edited\n"}
    assert FileState.of(_Editor({}, None, "scratch")).known == {NO_NAME: "scratch"}


def test_file_distances_over_the_union_of_paths_by_hand():
    base = {"a.py": "one\n", "b.py": "two\n"}.get
    ours = FileState({"a.py": "one!\n", "new.py": "xy"})  # b.py: untouched, reads the base
    theirs = FileState({"a.py": "one\n", "b.py": None})  # b.py deleted
    got = {f.path: (f.ours, f.theirs, f.distance) for f in compare_files(ours, theirs, base)}
    assert got == {"a.py": (5, 4, 1), "b.py": (4, 0, 4), "new.py": (2, 0, 2)}
    end = {"a.py": "one!\n"}.get  # the commit's end: a.py changed, b.py and new.py absent
    got = {f.path: f.distance for f in compare_with_tree(ours, ["a.py", "b.py", "new.py"], base, end)}
    assert got == {"a.py": 0, "b.py": 4, "new.py": 2}
