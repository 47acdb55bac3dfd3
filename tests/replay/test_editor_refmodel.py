"""Shared by the editor tests (no tests of its own): a plain reference model of the
keymap (the oracle for key semantics) and hypothesis strategies for keys and texts."""

from __future__ import annotations

from hypothesis import strategies as st

UP, DOWN, RIGHT, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D"
HOME, END, PGUP, PGDN, DEL = b"\x1b[H", b"\x1b[F", b"\x1b[5~", b"\x1b[6~", b"\x1b[3~"
ENTER, TAB, BS = b"\r", b"\t", b"\x7f"
CTRL_G, CTRL_C, CTRL_O, CTRL_S, CTRL_K = b"\x07", b"\x03", b"\x0f", b"\x13", b"\x0b"
ALT_V, ALT_R, ALT_D = b"\x1bv", b"\x1br", b"\x1bd"

# characters of every display class: ASCII, Latin-1, C1, wide, emoji, combining, private use
CHARS = "aZ 09~é\u0085\u009b日本😀\u0301\u200d\ue000\ufeff>"
CONTROL = "\x00\x01\x1b\r\x7f\x08\x0c"


class RefEditor:
    """The keymap of replay/KEYMAP.md on a flat string: the oracle for key semantics."""

    def __init__(self, text_rows: int, disk: dict[str, str]) -> None:
        self.text, self.pos, self.want = "", 0, 0
        self.path: str | None = None
        self.disk = disk
        self.text_rows = text_rows
        self.prompt: str | None = None
        self.inp = ""
        self.verbatim = False

    # cursor as (line, col) derived from the flat offset
    def line_col(self) -> tuple[int, int]:
        before = self.text[:self.pos]
        line = before.count("\n")
        return line, len(before) - (before.rfind("\n") + 1)

    def _line_start(self, n: int) -> int:
        starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        return starts[n]

    def _lines(self) -> list[str]:
        return self.text.split("\n")

    def _goto(self, line: int, col: int) -> None:
        self.pos = self._line_start(line) + col

    def _vert(self, line: int) -> None:
        self._goto(line, min(self.want, len(self._lines()[line])))

    def _ins(self, s: str) -> None:
        self.text = self.text[:self.pos] + s + self.text[self.pos:]
        self.pos += len(s)
        self.want = self.line_col()[1]

    def press(self, data: bytes) -> None:
        """Any bytes, read as KEYMAP.md's "Any bytes" says (written from that text alone)."""
        i = 0
        while i < len(data):
            if self.verbatim:
                ch, n = _ref_char(data, i)
                i += n
                if ch is not None:
                    self.verbatim = False
                    if self.prompt is not None:
                        if self.prompt != "goto" or ch in "0123456789":
                            self.inp += ch
                    else:
                        self._ins(ch)
                continue
            key, n = _ref_key(data, i)
            i += n
            if key is not None:
                self._key(key)

    def _key(self, key: bytes) -> None:
        if self.prompt is not None:
            self._prompt_key(key)
            return
        line, col = self.line_col()
        nlines = len(self._lines())
        if key == ENTER:
            self._ins("\n")
        elif key == TAB:
            self._ins("\t")
        elif key == BS:
            if self.pos:
                self.text = self.text[:self.pos - 1] + self.text[self.pos:]
                self.pos -= 1
            self.want = self.line_col()[1]
        elif key == DEL:
            self.text = self.text[:self.pos] + self.text[self.pos + 1:]
            self.want = col
        elif key == LEFT:
            self.pos = max(0, self.pos - 1)
            self.want = self.line_col()[1]
        elif key == RIGHT:
            self.pos = min(len(self.text), self.pos + 1)
            self.want = self.line_col()[1]
        elif key == UP:
            if line:
                self._vert(line - 1)
        elif key == DOWN:
            if line + 1 < nlines:
                self._vert(line + 1)
        elif key == PGUP:
            self._vert(max(0, line - self.text_rows))
        elif key == PGDN:
            self._vert(min(nlines - 1, line + self.text_rows))
        elif key == HOME:
            self._goto(line, 0)
            self.want = 0
        elif key == END:
            self._goto(line, len(self._lines()[line]))
            self.want = self.line_col()[1]
        elif key == CTRL_K:
            start = self._line_start(line)
            end = self.text.find("\n", start)
            end = len(self.text) if end < 0 else end + 1
            self.text = self.text[:start] + self.text[end:]
            self.pos, self.want = start, 0
        elif key == CTRL_S:
            if self.path is not None:
                self.disk[self.path] = self.text
        elif key == ALT_D:
            if self.path is not None:
                self.disk.pop(self.path, None)
            self.path, self.text, self.pos, self.want = None, "", 0, 0
        elif key == ALT_V:
            self.verbatim = True
        elif key in (CTRL_G, CTRL_O, ALT_R):
            self.prompt, self.inp = {CTRL_G: "goto", CTRL_O: "open", ALT_R: "rename"}[key], ""
        elif key == CTRL_C:
            pass
        elif key[0] != 0x1B and key.decode() >= " " and key != BS:
            self._ins(key.decode())
        # any other key is not in the keymap: nothing happens

    def _prompt_key(self, key: bytes) -> None:
        if key == CTRL_C:
            self.prompt = None
        elif key == BS:
            self.inp = self.inp[:-1]
        elif key == ALT_V:
            self.verbatim = True
        elif key == ENTER:
            kind, arg = self.prompt, self.inp
            self.prompt, self.inp = None, ""
            if not arg:
                return
            if kind == "goto":
                nlines = len(self._lines())
                digits = arg.lstrip("0") or "0"
                n = min(max(int(digits) if len(digits) <= len(str(nlines)) else nlines, 1), nlines)
                self._goto(n - 1, 0)
                self.want = 0
            elif kind == "open":
                self.path, self.text, self.pos, self.want = arg, self.disk.get(arg, ""), 0, 0
            else:
                if self.path is not None:
                    self.disk.pop(self.path, None)
                self.path = arg
                self.disk[arg] = self.text
        elif key == TAB:
            if self.prompt != "goto":
                self.inp += "\t"
        elif key[0] != 0x1B and key.decode() >= " " and key != BS:
            ch = key.decode()
            if self.prompt != "goto" or ch in "0123456789":
                self.inp += ch
        # other keys are ignored while a prompt is open


KEYMAP_KEYS = {ENTER, TAB, BS, DEL, UP, DOWN, LEFT, RIGHT, HOME, END, PGUP, PGDN, CTRL_G, CTRL_C, CTRL_O,
               CTRL_S, CTRL_K, ALT_V, ALT_R, ALT_D}


def _ref_char(data: bytes, i: int) -> tuple[str | None, int]:
    """One UTF-8 encoded code point at data[i:], or (None, 1): a byte that starts none."""
    for n in range(1, 5):
        try:
            return data[i:i + n].decode("utf-8"), n
        except UnicodeDecodeError:
            continue
    return None, 1


def _ref_key(data: bytes, i: int) -> tuple[bytes | None, int]:
    """One key at data[i:] (None: no key) and how many bytes it took, by KEYMAP.md rules 2-4."""
    if data[i] != 0x1B:
        ch, n = _ref_char(data, i)
        return (data[i:i + n] if ch is not None else None), n
    rest = data[i + 1:]
    if not rest or rest[0] == 0x1B:
        return None, 1
    if rest[0] == ord("["):
        j = 1
        while j < len(rest) and 0x20 <= rest[j] <= 0x3F:
            j += 1
        if j < len(rest) and 0x40 <= rest[j] <= 0x7E:
            return data[i:i + j + 2], j + 2
        return None, j + 1
    if rest[0] == ord("O") and len(rest) > 1 and 0x40 <= rest[1] <= 0x7E:
        return None, 3
    ch, n = _ref_char(data, i + 1)
    if ch is None:
        return None, 1
    key = data[i:i + 1 + n]
    return (key if key in KEYMAP_KEYS else None), 1 + n


def _text_key(ch: str) -> list[bytes]:
    return [ch.encode()]


edit_actions = st.one_of(
    st.sampled_from(CHARS).map(_text_key),
    st.sampled_from([[ENTER], [TAB], [BS], [DEL], [UP], [DOWN], [LEFT], [RIGHT], [HOME], [END],
                     [PGUP], [PGDN], [CTRL_K], [CTRL_S], [CTRL_C]]),
    st.sampled_from(CONTROL).map(lambda c: [ALT_V, c.encode()]),
    st.integers(0, 60).map(lambda n: [CTRL_G, *[d.encode() for d in str(n)], ENTER]),
    st.sampled_from(["a.txt", "b/c.py", "new file", "t\tab"]).map(
        lambda p: [CTRL_O, *[c.encode() for c in p], ENTER]),
    st.sampled_from(["r.txt", "a.txt"]).map(lambda p: [ALT_R, *[c.encode() for c in p], ENTER]),
    st.just([ALT_D]),
    st.just([CTRL_G, b"1", BS, b"x", b"2", RIGHT, CTRL_C]),
    # keys that are not in the keymap, and several keys in one press ("Any bytes")
    st.sampled_from([b"\x1b", b"\x01", b"\n", b"\x08", b"\xff", b"\xe6\x97", b"\x1b[Z", b"\x1b[1;5C",
                     b"\x1bOA", b"\x1bx", b"\x1b\x1b[A", b"\x1b[\x1b[B", b"\x1b[12", b"", b"ab\rc",
                     b"\x0fb/c.py\r", b"\x1bv\n", b"\x1bv\x1b[A", b"\x07" + b"9" * 30 + b"\r",
                     b"\x070\r", b"\x1bv"]).map(lambda k: [k]),
    st.binary(max_size=6).map(lambda b: [b]),
)

texts = st.text(alphabet=st.sampled_from("ab \t\n\r\x1b日😀\u0301é" + "x" * 5), max_size=300)
