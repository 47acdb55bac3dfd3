"""Action classes: what kind of key a target token is, read from its bytes.

The rule (the keys are those of ``sessionforge/replay/KEYMAP.md``): a token is classified by
the **first key its bytes begin with**. Learned pieces can join keys of different kinds
(``"\\r    "`` is Enter then indentation, ``"foo("`` four characters), and the first key is
the decision the model had to make at that frame.

=============  ===============================================================================
class          first key of the token
=============  ===============================================================================
``none``       no key: the ``<cont>`` target (no new token starts in the next frame)
``typed``      a printable character: ASCII 0x20-0x7E or any byte >= 0x80 (UTF-8 text), and
               Alt-V (``ESC v``), which types the next character verbatim
``enter/tab``  Enter ``\\r`` (and ``\\n``), Tab ``\\t``
``cursor``     arrows ``ESC [ A/B/C/D`` (and their runs), Home/End ``ESC [ H/F``
               (``ESC O H/F``, ``ESC [ 1~/4~``), PgUp/PgDn ``ESC [ 5~/6~``
``edit``       Ctrl-K cut ``\\x0b``, Delete ``ESC [ 3~``, Backspace ``\\x7f`` (and ``\\x08``)
``file``       the file and prompt commands: Ctrl-O open ``\\x0f``, Ctrl-S save ``\\x13``,
               Ctrl-G go-to-line ``\\x07``, Alt-R rename ``ESC r``, Alt-D delete file
               ``ESC d``, Ctrl-C cancel a prompt ``\\x03``
``other``      anything else (other control bytes, a lone or unknown escape sequence)
=============  ===============================================================================
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

CLASSES = ("typed", "enter/tab", "cursor", "edit", "file", "none", "other")

_CURSOR_SEQS = (b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F", b"\x1bOH", b"\x1bOF",
                b"\x1b[1~", b"\x1b[4~", b"\x1b[5~", b"\x1b[6~")
_EDIT_SEQS = (b"\x1b[3~",)
_FILE_SEQS = (b"\x1br", b"\x1bd")
_TYPED_SEQS = (b"\x1bv",)
_SINGLE = {
    b"\r": "enter/tab", b"\n": "enter/tab", b"\t": "enter/tab",
    b"\x0b": "edit", b"\x7f": "edit", b"\x08": "edit",
    b"\x0f": "file", b"\x13": "file", b"\x07": "file", b"\x03": "file",
}


def classify(piece: bytes) -> str:
    """The class (one of :data:`CLASSES`) of a token whose bytes are ``piece``; see the module doc."""
    if not piece:
        return "none"
    if piece[0] == 0x1B:
        for seqs, name in ((_CURSOR_SEQS, "cursor"), (_EDIT_SEQS, "edit"), (_FILE_SEQS, "file"),
                           (_TYPED_SEQS, "typed")):
            if piece.startswith(seqs):
                return name
        return "other"
    if 0x20 <= piece[0] <= 0x7E or piece[0] >= 0x80:
        return "typed"
    return _SINGLE.get(piece[:1], "other")


def class_table(pieces: Sequence[bytes]) -> np.ndarray:
    """(V,) int8: the index into :data:`CLASSES` of every token id, for vectorised lookups."""
    index = {name: i for i, name in enumerate(CLASSES)}
    return np.array([index[classify(p)] for p in pieces], dtype=np.int8)


__all__ = ["CLASSES", "class_table", "classify"]
