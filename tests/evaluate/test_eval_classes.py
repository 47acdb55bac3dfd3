"""Action classes of target tokens, by the first key of their bytes."""

from __future__ import annotations

import pytest

from sessionforge.evaluate.classes import CLASSES, class_table, classify
from sessionforge.model.tokenizer import ActionTokenizer


@pytest.mark.parametrize("piece, want", [
    (b"", "none"),
    (b"a", "typed"), (b"def ", "typed"), (b"\xc3\xa9", "typed"), (b"\x1bv\r", "typed"),
    (b"\r", "enter/tab"), (b"\t", "enter/tab"), (b"\r    ", "enter/tab"),
    (b"\x1b[A", "cursor"), (b"\x1b[D" * 7, "cursor"), (b"\x1b[H", "cursor"), (b"\x1b[F", "cursor"),
    (b"\x1b[5~", "cursor"), (b"\x1b[6~", "cursor"),
    (b"\x0b", "edit"), (b"\x1b[3~", "edit"), (b"\x7f", "edit"),
    (b"\x0f", "file"), (b"\x13", "file"), (b"\x07", "file"), (b"\x1br", "file"), (b"\x1bd", "file"),
    (b"\x03", "file"),
    (b"\x1b", "other"), (b"\x1b[99~", "other"), (b"\x01", "other"),
])
def test_classify_by_first_key(piece, want):
    assert classify(piece) == want


def test_class_table_covers_every_token():
    tok = ActionTokenizer([b"foo(", b"\r  "])
    table = class_table(tok.pieces)
    assert len(table) == tok.vocab_size
    assert CLASSES[table[0]] == "none"
    assert CLASSES[table[tok.encode(b"foo(")[0]]] == "typed"
    assert CLASSES[table[tok.encode(b"\r  ")[0]]] == "enter/tab"
    assert CLASSES[table[tok.encode(b"\x1b[C\x1b[C")[0]]] == "cursor"
