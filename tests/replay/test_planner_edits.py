"""The diff model (before, after -> character edits), checked in pure Python."""

from hypothesis import given, settings, strategies as st

from sessionforge.replay.edits import apply_edits, edit_script, line_starts, split_lines

# Texts built from a small alphabet of nasty pieces so that equal lines, CRLF, lone CR,
# tabs, wide/combining characters and missing final newlines all show up often.
PIECES = ["a", "b", "xyz", " ", "\t", "\n", "\r\n", "\r", "\n\n", "é", "e\u0301", "漢", "🙂", "\x1b[2J", "\x00", "\x7f", "\u0085"]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def test_split_lines_keeps_terminators():
    assert split_lines("") == []
    assert split_lines("a") == ["a"]
    assert split_lines("a\n") == ["a\n"]
    assert split_lines("a\r\nb") == ["a\r\n", "b"]
    assert split_lines("\n\n") == ["\n", "\n"]
    assert line_starts("ab\ncd\n") == [0, 3, 6]


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_edit_script_reproduces_after(before, after):
    edits = edit_script(before, after)
    assert apply_edits(before, edits) == after
    starts = line_starts(after)
    buf = before
    for e in edits:
        # positions are exact in the buffer as it is when the edit runs
        assert e.q == starts[e.line] + e.col
        assert buf[: e.q] == after[: e.q]
        cur_line = buf[starts[e.line]:].split("\n", 1)[0]
        assert e.line_len == len(cur_line)
        buf = buf[: e.q] + e.insert + buf[e.q + len(e.delete):]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["x = 1\n", "y = 2\n", "    return z\n", "\n", "# c\n"]), max_size=30),
       st.data())
def test_small_change_gives_small_edits(lines, data):
    if not lines:
        return
    i = data.draw(st.integers(0, len(lines) - 1))
    after_lines = list(lines)
    after_lines[i] = after_lines[i].replace("\n", " # changed\n")
    before, after = "".join(lines), "".join(after_lines)
    edits = edit_script(before, after)
    assert apply_edits(before, edits) == after
    # a one-line change is one in-place insertion of the new span, nothing retyped
    assert sum(len(e.insert) for e in edits) == len(" # changed")
    assert sum(len(e.delete) for e in edits) == 0


def test_long_line_edited_in_place():
    line = "abcdefghij" * 10_000
    before = line + "\ntail\n"
    after = line[:99_990] + "XYZ" + line[99_992:] + "\ntail\n"
    edits = edit_script(before, after)
    assert apply_edits(before, edits) == after
    assert len(edits) == 1 and edits[0].col == 99_990 and edits[0].line_len == 100_000
