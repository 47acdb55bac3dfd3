"""Editor key semantics: random key sequences against a plain reference model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.replay.editor import Editor, EditorError
from sessionforge.replay.terminal import Terminal

from test_editor_refmodel import (
    ALT_D, ALT_R, ALT_V, BS, CTRL_G, CTRL_K, CTRL_O, CTRL_S, DEL, DOWN, END, ENTER, LEFT, PGDN,
    RIGHT, UP, RefEditor, edit_actions, texts,
)


def _open(ed: Editor, path: str) -> bytes:
    out = ed.press(CTRL_O)
    for ch in path:
        out += ed.press(ch.encode())
    return out + ed.press(ENTER)


@settings(max_examples=150, deadline=None)
@given(text=texts, actions=st.lists(edit_actions, max_size=60), rows=st.sampled_from([5, 9, 48]))
def test_keys_match_reference_model(text: str, actions: list[list[bytes]], rows: int) -> None:
    disk = {"a.txt": text, "b/c.py": "x\n" * 30}
    ref_disk = dict(disk)
    ed = Editor(rows, 40, disk)
    ref = RefEditor(rows - 3, ref_disk)
    for key in [CTRL_O, b"a", b".", b"t", b"x", b"t", ENTER]:
        ed.press(key)
        ref.press(key)
    for action in actions:
        for key in action:
            ed.press(key)
            ref.press(key)
        assert ed.text == ref.text
        assert (ed.cursor_line, ed.cursor_col) == ref.line_col()
        assert ed.prompt == ref.prompt
        assert ed.path == ref.path
        assert disk == ref_disk
        assert ed.line_count == ed.text.count("\n") + 1
        assert ed.top_line <= ed.cursor_line < ed.top_line + ed.text_rows or ed.prompt


def test_basic_editing_and_save() -> None:
    disk = {"f": "one\ntwo"}
    ed = Editor(10, 40, disk)
    _open(ed, "f")
    assert (ed.path, ed.text, ed.cursor_line, ed.cursor_col) == ("f", "one\ntwo", 0, 0)
    for k in [END, b"!", ENTER, b"x", DOWN, END, BS, DEL, b"\t"]:
        ed.press(k)
    assert ed.text == "one!\nx\ntw\t"
    ed.press(CTRL_S)
    assert disk["f"] == "one!\nx\ntw\t"


def test_cut_line_keeps_missing_final_newline() -> None:
    ed = Editor(10, 40, {"f": "a\nb\nc"})
    _open(ed, "f")
    ed.press(CTRL_K)
    assert ed.text == "b\nc"
    ed.press(DOWN)
    ed.press(CTRL_K)  # last line without "\n": only its text goes
    assert ed.text == "b\n"
    assert (ed.cursor_line, ed.cursor_col) == (1, 0)
    ed.press(CTRL_K)  # empty last line: nothing to cut
    assert ed.text == "b\n"


def test_remembered_column() -> None:
    ed = Editor(10, 40, {"f": "abcdef\nab\nabcdefgh"})
    _open(ed, "f")
    for _ in range(5):
        ed.press(RIGHT)
    ed.press(DOWN)
    assert (ed.cursor_line, ed.cursor_col) == (1, 2)
    ed.press(DOWN)
    assert (ed.cursor_line, ed.cursor_col) == (2, 5)
    ed.press(LEFT)
    ed.press(UP)
    assert (ed.cursor_line, ed.cursor_col) == (1, 2)


def test_page_keys_and_goto_centre() -> None:
    ed = Editor(13, 40, {"f": "\n".join(str(i) for i in range(200))})
    _open(ed, "f")
    ed.press(PGDN)
    assert ed.cursor_line == 10 == ed.text_rows
    ed.press(PGDN)
    ed.press(PGDN)
    assert ed.cursor_line == 30
    for k in [CTRL_G, b"1", b"5", b"0", ENTER]:
        ed.press(k)
    assert (ed.cursor_line, ed.cursor_col) == (149, 0)
    assert ed.top_line == 149 - ed.text_rows // 2  # centred: it was off screen
    for k in [CTRL_G, b"9", b"9", b"9", b"9", ENTER]:
        ed.press(k)
    assert ed.cursor_line == 199  # clamped


def test_verbatim_controls_and_crlf() -> None:
    ed = Editor(10, 40, {})
    for k in [b"a", ALT_V, b"\r", ENTER, ALT_V, b"\x1b", b"[", b"2", b"J", ALT_V + b"\x00"]:
        ed.press(k)
    assert ed.text == "a\r\n\x1b[2J\x00"


def test_rename_and_delete_file() -> None:
    disk = {"old.txt": "hello"}
    ed = Editor(10, 40, disk)
    _open(ed, "old.txt")
    ed.press(b"!")
    ed.press(ALT_R)
    for ch in "new.txt":
        ed.press(ch.encode())
    ed.press(ENTER)
    assert disk == {"new.txt": "!hello"} and ed.path == "new.txt"
    ed.press(ALT_D)
    assert disk == {} and ed.path is None and ed.text == ""


def test_open_missing_file_is_new_and_unsaved() -> None:
    disk: dict[str, str] = {}
    ed = Editor(10, 40, disk)
    _open(ed, "dir/new.py")
    assert ed.path == "dir/new.py" and ed.text == "" and disk == {}
    ed.press(b"x")
    ed.press(CTRL_S)
    assert disk == {"dir/new.py": "x"}


@pytest.mark.parametrize("key", [b"\x1b", b"\x01", b"\n", b"\x08", b"\xff", b"\xe6\x97", b"\x1b[Z", b"\x1b[2~",
                                 b"\x1b[1;5C", b"\x1bOA", b"\x1bx", b"\x1bV", b"\x1b[", b"\x1b[12", b""])
def test_keys_not_in_the_keymap_change_nothing(key: bytes) -> None:
    disk = {"f": "one\ntwo"}
    ed = Editor(10, 40, disk)
    _open(ed, "f")
    for k in [DOWN, RIGHT, b"x"]:
        ed.press(k)
    state = (ed.text, ed.cursor_line, ed.cursor_col, ed._want, ed.prompt, ed.modified, dict(disk))
    assert ed.press(key) == b""  # nothing changed, nothing to draw
    assert (ed.text, ed.cursor_line, ed.cursor_col, ed._want, ed.prompt, ed.modified, dict(disk)) == state


def test_several_keys_in_one_press_act_one_by_one() -> None:
    keys = [CTRL_O, b"f", ENTER, b"x", b"y", RIGHT, ALT_V, b"\x01", b"\x1b[Z", b"z", b"\xff", ENTER,
            CTRL_G, *[b"9"] * 5000, ENTER]
    one, many = Editor(10, 40, {"f": "abc"}), Editor(10, 40, {"f": "abc"})
    for k in keys:
        one.press(k)
    many.press(b"".join(keys))
    for ed in (one, many):
        assert ed.text == "xya\x01z\nbc"
        assert (ed.cursor_line, ed.cursor_col, ed.prompt) == (1, 0, None)  # 9...9 is past the end
    term_one, term_many = Terminal(10, 40), Terminal(10, 40)
    term_one.feed(one.redraw())
    term_many.feed(many.redraw())
    assert term_one.screen.display == term_many.screen.display


def test_too_small_screen_is_an_error() -> None:
    with pytest.raises(EditorError):
        Editor(3, 80)

