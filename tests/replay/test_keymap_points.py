"""KEYMAP.md point by point: each test checks that the editor does exactly what the text says."""

from __future__ import annotations

import pytest

from sessionforge.replay.editor import Editor, EditorError
from sessionforge.replay.terminal import Terminal

UP, DOWN, RIGHT, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D"
HOME, END, PGUP, PGDN, DEL = b"\x1b[H", b"\x1b[F", b"\x1b[5~", b"\x1b[6~", b"\x1b[3~"
ENTER, TAB, BS = b"\r", b"\t", b"\x7f"
CTRL_G, CTRL_C, CTRL_O, CTRL_S, CTRL_K = b"\x07", b"\x03", b"\x0f", b"\x13", b"\x0b"
ALT_V, ALT_R, ALT_D = b"\x1bv", b"\x1br", b"\x1bd"


def _editor(text: str = "", rows: int = 10, cols: int = 40, path: str = "f", **disk: str) -> Editor:
    ed = Editor(rows, cols, {path: text, **disk})
    ed.press(CTRL_O + path.encode() + ENTER)
    return ed


def _screen(ed: Editor) -> Terminal:
    term = Terminal(ed.rows, ed.cols)
    term.feed(ed.redraw())
    term.snapshot()
    return term


def _state(ed: Editor) -> tuple:
    return (ed.text, ed.path, ed.cursor_line, ed.cursor_col, ed._want, ed.top_line, ed.prompt, ed._input,
            ed.modified, dict(ed.disk))


# -- state at construction ---------------------------------------------------------------

def test_state_at_construction() -> None:
    disk = {"a": "x"}
    ed = Editor(8, 30, disk)
    assert ed.disk is disk  # not copied
    assert (ed.text, ed.line_count, ed.path, ed.cursor_line, ed.cursor_col, ed._want, ed.top_line) == \
        ("", 1, None, 0, 0, 0, 0)
    assert (ed.prompt, ed._verbatim, ed.modified) == (None, False, False)
    term = _screen(ed)
    assert "New Buffer" in term.screen.display[0] and "Modified" not in term.screen.display[0]
    assert term.cursor == (1, 4, True)
    with pytest.raises(EditorError):
        Editor(3, 30)
    with pytest.raises(EditorError):
        Editor(8, 23)


# -- moves at the buffer's ends; the remembered column -------------------------------------

def test_right_at_buffer_end_and_left_at_start_stay_and_set_the_remembered_column() -> None:
    ed = _editor("abcdef\nab")
    ed.press(END)
    ed.press(DOWN)  # remembered 6, line 2 has 2
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (1, 2, 6)
    ed.press(RIGHT)  # the end of the buffer: no move, remembered := 2
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (1, 2, 2)
    ed.press(UP)
    assert (ed.cursor_line, ed.cursor_col) == (0, 2)  # not 6
    ed = _editor("\nabcdef")
    ed.press(DOWN)
    ed.press(END)
    ed.press(UP)  # (0, 0), remembered 6
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (0, 0, 6)
    ed.press(LEFT)  # the start of the buffer: no move, remembered := 0
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (0, 0, 0)


@pytest.mark.parametrize("key,text,where", [(BS, "\nabcdef", (0, 0)), (DEL, "abcdef\nab", (1, 2)),
                                            (CTRL_K, "abcdef\n", (1, 0))])
def test_keys_that_change_nothing_still_set_the_remembered_column(key: bytes, text: str, where: tuple) -> None:
    ed = _editor(text)
    if key == BS:  # to the buffer start with a remembered column of 6
        ed.press(DOWN)
        ed.press(END)
        ed.press(UP)
    else:  # to the buffer end with a remembered column of 6
        ed.press(END)
        ed.press(DOWN)
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (*where, 6)
    ed.press(key)
    assert ed.text == text and (ed.cursor_line, ed.cursor_col) == where and ed._want == where[1]


def test_keys_that_leave_the_remembered_column() -> None:
    ed = _editor("abcdef\nab\nabcdefgh")
    ed.press(END)
    ed.press(DOWN)
    for key in [CTRL_S, CTRL_C, b"\x1b[Z", b"\x01", CTRL_G, CTRL_C, CTRL_O, CTRL_C, ALT_R, CTRL_C]:
        ed.press(key)
        assert ed._want == 6
    ed.press(DOWN)
    assert (ed.cursor_line, ed.cursor_col) == (2, 6)


# -- joins and cuts: where the cursor lands ----------------------------------------------------

def test_backspace_join_lands_where_the_lines_meet() -> None:
    ed = _editor("abc\ndef")
    ed.press(DOWN)
    ed.press(HOME)
    ed.press(BS)
    assert (ed.text, ed.cursor_line, ed.cursor_col, ed._want) == ("abcdef", 0, 3, 3)


def test_delete_join_keeps_the_cursor() -> None:
    ed = _editor("abc\ndef")
    ed.press(END)
    ed.press(DEL)
    assert (ed.text, ed.cursor_line, ed.cursor_col, ed._want) == ("abcdef", 0, 3, 3)


def test_ctrl_k_cursor_to_column_0_of_the_same_line_number() -> None:
    ed = _editor("abc\ndef\nghi")
    ed.press(DOWN)
    ed.press(END)
    ed.press(CTRL_K)  # line 2 ("def\n") goes; "ghi" moves up into line 2
    assert (ed.text, ed.cursor_line, ed.cursor_col, ed._want) == ("abc\nghi", 1, 0, 0)
    ed.press(END)
    ed.press(CTRL_K)  # last line without "\n": only its text goes
    assert (ed.text, ed.cursor_line, ed.cursor_col) == ("abc\n", 1, 0)
    ed.press(CTRL_K)  # an empty last line: nothing
    assert ed.text == "abc\n"


# -- Alt-V + LF ----------------------------------------------------------------------------------

def test_alt_v_lf_splits_the_line_like_enter() -> None:
    a, b = _editor("abcdef"), _editor("abcdef")
    for ed in (a, b):
        ed.press(RIGHT)
        ed.press(RIGHT)
    a.press(ALT_V)
    a.press(b"\n")
    b.press(ENTER)
    assert _state(a) == _state(b)
    assert a.text == "ab\ncdef" and (a.cursor_line, a.cursor_col) == (1, 0) and a.line_count == 2
    c = _editor("abcdef")
    c.press(ALT_V + b"\n")  # in one press too
    assert c.text == "\nabcdef" and all("\n" not in str(line) for line in c.lines)


# -- the status line's column -------------------------------------------------------------------

def test_status_column_counts_code_points_not_cells() -> None:
    ed = _editor("\t日\x1bx")
    for expect in (1, 2, 3, 4, 5):
        term = _screen(ed)
        assert f" line 1        of 1        col {expect:<9}" in term.screen.display[ed.rows - 2]
        assert ed.cursor_col + 1 == expect
        ed.press(RIGHT)
    # the cursor itself sits on the cell: gutter 4 + tab 8 + wide 2 + caret 2
    assert _screen(ed).cursor == (1, 4 + 8 + 2 + 2 + 1, True)


# -- prompts: every key -----------------------------------------------------------------------------

@pytest.mark.parametrize("prompt_key", [CTRL_G, CTRL_O, ALT_R])
@pytest.mark.parametrize("key", [CTRL_S, ALT_D, CTRL_G, CTRL_O, ALT_R, CTRL_K, DEL, UP, DOWN, LEFT, RIGHT,
                                 HOME, END, PGUP, PGDN, b"\x1b[Z", b"\x01", b"\n", b"\xff"])
def test_keys_that_do_nothing_in_a_prompt(prompt_key: bytes, key: bytes) -> None:
    ed = _editor("one\ntwo", other="x")
    ed.press(b"!")  # modified, unsaved
    ed.press(prompt_key)
    ed.press(b"1")
    before = _state(ed)
    ed.press(key)
    assert _state(ed) == before
    assert ed.prompt is not None and ed._input == "1"


def test_prompt_input_keys() -> None:
    ed = _editor("x")
    ed.press(CTRL_O)
    for k in [b"a", TAB, ALT_V, b"\r", ALT_V + b"\x1b", b"\xc3\xa9", BS, b"b"]:
        ed.press(k)
    assert ed._input == "a\t\r\x1bb"
    ed.press(CTRL_C)
    assert ed.prompt is None and ed.text == "x" and ed.path == "f"
    ed.press(CTRL_O)  # a prompt opens with an empty input
    assert ed._input == ""
    ed.press(BS)  # nothing on an empty input
    ed.press(ENTER)  # empty input: closes, does nothing
    assert ed.prompt is None and ed.path == "f"


def test_tab_and_alt_v_in_the_goto_prompt() -> None:
    ed = _editor("\n".join("abcdefghij"))
    ed.press(CTRL_G)
    for k in [TAB, b"1", ALT_V, b"x", ALT_V, b"0", b"\xd9\xa3", b"x"]:  # Arabic-Indic 3: not ASCII
        ed.press(k)
    assert ed._input == "10" and not ed._verbatim  # the Alt-V before "x" was used up
    ed.press(ENTER)
    assert (ed.cursor_line, ed.cursor_col, ed._want) == (9, 0, 0)


@pytest.mark.parametrize("digits,line", [("0", 0), ("00", 0), ("007", 6), ("9" * 5000, 9), ("4", 3)])
def test_goto_line_numbers(digits: str, line: int) -> None:
    ed = _editor("\n".join("abcdefghij"))
    ed.press(END)
    ed.press(CTRL_G + digits.encode() + ENTER)
    assert (ed.cursor_line, ed.cursor_col, ed._want, ed.prompt) == (line, 0, 0, None)


def test_goto_off_screen_centres_the_view() -> None:
    ed = _editor("\n".join(str(i) for i in range(100)), rows=10)
    ed.press(CTRL_G + b"50" + ENTER)
    assert ed.top_line == 49 - ed.text_rows // 2
    ed.press(CTRL_G + b"52" + ENTER)  # on screen: the view stays
    assert ed.top_line == 49 - ed.text_rows // 2 and ed.cursor_line == 51


# -- open, rename, delete --------------------------------------------------------------------------

def test_open_discards_unsaved_changes_and_a_missing_file_is_new() -> None:
    ed = _editor("abc", g="ghi")
    ed.press(b"X")
    ed.press(CTRL_O + b"g" + ENTER)
    assert (ed.path, ed.text, ed.cursor_line, ed.cursor_col, ed.modified) == ("g", "ghi", 0, 0, False)
    assert ed.disk["f"] == "abc"
    ed.press(CTRL_O + b"nope/x\x1bv\x07" + ENTER)
    assert (ed.path, ed.text) == ("nope/x\x07", "") and "nope/x\x07" not in ed.disk


def test_rename_to_the_same_name_saves() -> None:
    ed = _editor("abc")
    ed.press(b"X")
    ed.press(ALT_R + b"f" + ENTER)
    assert ed.disk == {"f": "Xabc"} and ed.path == "f" and not ed.modified


def test_rename_onto_an_existing_file_replaces_it() -> None:
    ed = _editor("abc", g="ghi")
    ed.press(ALT_R + b"g" + ENTER)
    assert ed.disk == {"g": "abc"} and ed.path == "g" and ed.text == "abc"


def test_rename_without_a_file_name_saves_as() -> None:
    ed = Editor(10, 40, {"keep": "k"})
    ed.press(b"hi")
    ed.press(ALT_R + b"new" + ENTER)
    assert ed.disk == {"keep": "k", "new": "hi"} and ed.path == "new" and not ed.modified


def test_alt_d_without_a_file_name_empties_the_buffer_only() -> None:
    disk = {"keep": "k"}
    ed = Editor(10, 40, disk)
    ed.press(b"hi\rthere")
    ed.press(ALT_D)
    assert disk == {"keep": "k"}
    assert (ed.path, ed.text, ed.cursor_line, ed.cursor_col, ed._want, ed.modified) == (None, "", 0, 0, 0, False)


def test_alt_d_deletes_and_closes() -> None:
    ed = _editor("abc", g="ghi")
    ed.press(ALT_D)
    assert ed.disk == {"g": "ghi"} and ed.path is None and ed.text == ""


def test_save_without_a_file_name_does_nothing() -> None:
    disk: dict[str, str] = {}
    ed = Editor(10, 40, disk)
    ed.press(b"x")
    ed.press(CTRL_S)
    assert disk == {} and ed.modified


# -- any bytes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data,text", [
    (b"\x1b[\x1b[A" + b"z", "zab\n"),      # a CSI cut by ESC is dropped; ESC [ A is Up (at the top)
    (b"\x1b\x1b[Bz", "ab\nz"),             # lone ESC, then Down
    (b"\x1bOBz", "zab\n"),                 # SS3 arrow: unknown, ignored
    (b"\x1b\xffz", "zab\n"),               # ESC before a byte that is no character: both dropped
    (b"\xe6\x97z", "zab\n"),               # a truncated character is dropped byte by byte
    (b"\xe6\x97\xa5", "日ab\n"),
    (b"\xed\xa0\x80z", "zab\n"),           # an encoded surrogate is no character
    (b"\xc0\xafz", "zab\n"),               # an overlong encoding is no character
    (b"\x1b[1;5Cz", "zab\n"),              # Ctrl-Right: unknown
    (b"\x1b\xc3\xa9z", "zab\n"),           # Alt-e-acute: unknown Alt key
    (b"\x1bVz", "zab\n"),                  # Alt-V is lowercase only
])
def test_any_bytes(data: bytes, text: str) -> None:
    ed = _editor("ab\n")
    ed.press(data)
    assert ed.text == text


def test_alt_v_stays_pending_across_presses_and_dropped_bytes() -> None:
    ed = _editor("")
    ed.press(ALT_V)
    ed.press(b"")
    ed.press(b"\xff\xe6")  # no characters: still pending
    assert ed._verbatim
    ed.press(b"\x1b[A")  # ESC taken verbatim, then "[A" typed
    assert ed.text == "\x1b[A" and not ed._verbatim
