"""Action tokenizer: lossless round trip, arrow runs, frame alignment, versioned file, CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.model.tokenizer import (
    ARROWS,
    BASE_VOCAB,
    CONT,
    ActionTokenizer,
    TokenizerError,
    build_tokenizer,
    learn_pieces,
)

TOK = ActionTokenizer([b"return ", b"ret", b"self.", b"\x1b[5~", b"    "])
PIECES = st.sampled_from([b"a", b"\r", b"\x1b", b"[", b"A", b"return ", b"self.", *ARROWS, b"\x1b[5~", b" ", b"\xff"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(PIECES, st.binary(max_size=4)), max_size=30).map(b"".join))
def test_decode_encode_is_the_identity(data):
    ids = TOK.encode(data)
    assert TOK.decode(ids) == data
    assert all(0 < i < TOK.vocab_size for i in ids)


def test_arrow_runs_become_single_tokens_and_long_runs_split_at_31():
    down = ARROWS[1]
    assert len(TOK.encode(down * 7)) == 1
    assert [len(TOK.pieces[i]) // 3 for i in TOK.encode(down * 40)] == [31, 9]
    assert len(TOK.encode(ARROWS[0] * 3 + ARROWS[2] * 2)) == 2  # a change of arrow starts a new token


def test_greedy_longest_match_prefers_learned_pieces():
    ids = TOK.encode(b"return x")
    assert TOK.pieces[ids[0]] == b"return "
    assert TOK.pieces[TOK.encode(b"retx")[0]] == b"ret"


def test_frame_targets_are_the_first_token_starting_in_the_next_frame():
    # Frame t shows the screen after frame t's keys; target[t] predicts frame t+1's keys.
    right = ARROWS[2]
    actions = [b"", b"r", b"e", b"t", right, right, b"", b"ab", b"return ", b"x"]
    targets, dropped = TOK.frame_targets(actions)
    p = [TOK.pieces[i] for i in targets]
    # "r","e","t" arrive one per frame: greedy match over the concatenation makes "ret" one token
    # that starts in frame 1 and spans frames 1-3; frames 2 and 3 carry no new token.
    assert p == [b"ret", b"", b"", right * 2, b"", b"", b"a", b"return ", b"x"]
    assert targets[1] == CONT and dropped == 1  # the "b" of frame 7 is not a target


def test_save_load_round_trip_and_version_check(tmp_path):
    path = tmp_path / "tok.json"
    TOK.save(path)
    again = ActionTokenizer.load(path)
    assert again.pieces == TOK.pieces
    data = json.loads(path.read_text())
    data["version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(TokenizerError, match="version 99"):
        ActionTokenizer.load(path)
    with pytest.raises(TokenizerError, match="not found"):
        ActionTokenizer.load(tmp_path / "missing.json")


def test_learned_pieces_are_frequent_and_the_vocabulary_is_bounded():
    streams = [b"def foo(self):\r    return self.x\r" * 20, b"\x1b[6~\x1b[6~ print(x)\r" * 10]
    pieces = learn_pieces(streams, BASE_VOCAB + 5)
    assert len(pieces) == 5
    assert b"return " in pieces and b"self" in pieces
    tok = build_tokenizer(streams, BASE_VOCAB + 50)
    assert tok.vocab_size <= BASE_VOCAB + 50
    assert b"\x1b[6~" in tok.learned
    with pytest.raises(TokenizerError, match="below the fixed base"):
        learn_pieces(streams, 100)


def test_tokenizer_cli_builds_from_shards(tmp_path):
    import sys
    from pathlib import Path

    from click.testing import CliRunner

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
    from synth import write_synthetic_shard

    from sessionforge.cli import cli

    write_synthetic_shard(tmp_path / "data" / "s.tss", sessions=2, frames=300)
    out = tmp_path / "tok.json"
    res = CliRunner().invoke(cli, ["tokenizer", "build", str(tmp_path / "data"), "-o", str(out), "--vocab", "400"])
    assert res.exit_code == 0, res.output
    tok = ActionTokenizer.load(out)
    assert BASE_VOCAB < tok.vocab_size <= 400 and b"return" in tok.learned
    res = CliRunner().invoke(cli, ["tokenizer", "show", str(out), "--top", "3", "--encode", "return x"])
    assert res.exit_code == 0 and f"{tok.vocab_size} tokens" in res.output
