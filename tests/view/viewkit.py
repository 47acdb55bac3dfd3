"""Test helpers for the view area: synthetic sessions made by a real pyte screen,
snapshots of a pyte screen as termstream arrays, and a cast-replaying oracle."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyte

from sessionforge.formats import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
    ATTR_WIDE,
    ShardWriter,
)

# index 0 = default fg, 1 = default bg, then a few colours.
PALETTE = [0xD0D0D0, 0x101010, 0xFF0000, 0x00C000, 0x3050FF, 0xFFFF00, 0xFF00FF, 0x00FFFF]
_HEX_TO_INDEX = {f"{rgb:06x}": i for i, rgb in enumerate(PALETTE)}
_FLAGS = (("bold", ATTR_BOLD), ("italics", ATTR_ITALIC), ("underscore", ATTR_UNDERLINE),
          ("strikethrough", ATTR_STRIKE), ("reverse", ATTR_REVERSE), ("blink", ATTR_BLINK))
TEXT = "abc xyz_{}()#0123456789=é€中文字😀"  # narrow, Latin-1, BMP and astral wide chars


def snapshot(screen: pyte.Screen, colour_of=None, colour_dtype=np.uint8):
    """A pyte screen as termstream arrays: chars, fg, bg, attrs (R, C) and cursor (3,).

    ``colour_of(pyte_colour, default)`` maps pyte's colour names / hex strings.
    """
    colour_of = colour_of or (lambda c, default: _HEX_TO_INDEX.get(c, default))
    R, C = screen.lines, screen.columns
    chars = np.zeros((R, C), np.uint32)
    fg = np.zeros((R, C), colour_dtype)
    bg = np.zeros((R, C), colour_dtype)
    attrs = np.zeros((R, C), np.uint8)
    for r in range(R):
        line = screen.buffer[r]
        for c in range(C):
            cell = line[c]
            chars[r, c] = ord(cell.data[0]) if cell.data else 0
            fg[r, c] = colour_of(cell.fg, 0)
            bg[r, c] = colour_of(cell.bg, 1)
            a = 0
            for name, bit in _FLAGS:
                if getattr(cell, name):
                    a |= bit
            if c + 1 < C and cell.data and line[c + 1].data == "":
                a |= ATTR_WIDE
            attrs[r, c] = a
    cur = np.array([screen.cursor.y, screen.cursor.x, 0 if screen.cursor.hidden else 1], np.int32)
    return chars, fg, bg, attrs, cur


def _sgr_for(i: int, base: int) -> str:
    rgb = PALETTE[i]
    return f"{base};2;{rgb >> 16};{(rgb >> 8) & 255};{rgb & 255}"


def synthetic_frames(rows: int, cols: int, n: int, seed: int):
    """``n`` frames of a pyte screen driven by random, valid terminal output.

    Returns a list of (chars, fg, bg, attrs, cursor, action) tuples. Covers wide
    chars (BMP and astral), 24-bit colours, bold/italic/underline/strike/blink,
    reverse video, hidden cursor, erase, and writes into the last column.
    """
    rng = random.Random(seed)
    screen = pyte.Screen(cols, rows)
    stream = pyte.Stream(screen)
    out = []
    for t in range(n):
        ops = []
        for _ in range(rng.randint(1, 4)):
            k = rng.random()
            if k < 0.55:
                sgr = ["0"] + rng.sample(["1", "3", "4", "5", "7", "9"], rng.randint(0, 2))
                sgr += [_sgr_for(rng.randrange(len(PALETTE)), 38), _sgr_for(rng.randrange(len(PALETTE)), 48)]
                text = "".join(rng.choice(TEXT) for _ in range(rng.randint(1, cols)))
                ops.append(f"\x1b[{rng.randint(1, rows)};{rng.randint(1, cols)}H\x1b[{';'.join(sgr)}m{text}")
            elif k < 0.65:
                ops.append(f"\x1b[{rng.randint(1, rows)};{rng.randint(1, cols)}H\x1b[{rng.choice('012')}K")
            elif k < 0.75:
                ops.append(rng.choice(["\x1b[?25l", "\x1b[?25h"]))
            elif k < 0.8:
                ops.append(f"\x1b[{rng.randint(1, rows)};{cols - 1}H\x1b[0mZ中")  # wide at the edge
            else:
                ops.append(f"\x1b[{rng.randint(1, rows)};{rng.randint(1, cols)}H")
        stream.feed("".join(ops))
        out.append((*snapshot(screen), rng.choice([b"", b"x", b"\x1b[C", "中".encode(), b"\x7f\x00"])))
    return out


def write_shard(path: Path, sessions: list[list[tuple]], rows: int, cols: int, meta=None, codec="zstd"):
    """Write sessions of frame tuples with the real ShardWriter; returns the path."""
    with ShardWriter(path, rows=rows, cols=cols, codec=codec) as w:
        for i, frames in enumerate(sessions):
            w.begin_session(dict(meta or {}, id=f"synthetic-{i}"), PALETTE)
            for chars, fg, bg, attrs, cursor, action in frames:
                w.add_frame(chars, fg, bg, attrs, (int(cursor[0]), int(cursor[1]), bool(cursor[2])), action)
            w.end_session()
    return path


def read_cast(path: Path) -> tuple[dict, list[list]]:
    """Parse an asciicast v2 or v3 file into (header, events) as written (v3 '#' comment lines skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:] if line.strip() and line[0] != "#"]


def cast_size(header: dict) -> tuple[int, int]:
    """(cols, rows) from a v2 header (width/height) or a v3 one (term.cols/rows)."""
    if header["version"] == 3:
        return header["term"]["cols"], header["term"]["rows"]
    return header["width"], header["height"]


def event_times_us(header: dict, events: list[list]) -> list[int]:
    """Each event's time since the start in whole microseconds (asciinema's own resolution):
    v2 stores it; v3 stores the interval since the previous event, so it is summed."""
    if header["version"] == 2:
        return [round(e[0] * 1_000_000) for e in events]
    times, now = [], 0
    for e in events:
        now += round(e[0] * 1_000_000)
        times.append(now)
    return times


def _rgb_of(colour: str, default: int) -> int:
    try:
        return int(colour, 16) if len(colour) == 6 else -1
    except ValueError:
        return -1  # a named colour: the exporter only ever sends 24-bit colours


def replay_cast_frames(header: dict, events: list[list], fps: float, n_frames: int):
    """Feed a cast's "o" events into a fresh pyte screen; snapshot at each frame's time.

    Frame k is due at k / fps seconds (to the microsecond). Snapshots hold colours as
    0xRRGGBB ints (-1 for anything not sent as 24-bit).
    """
    screen = pyte.Screen(*cast_size(header))
    stream = pyte.Stream(screen)
    outs = [(t, e[2]) for t, e in zip(event_times_us(header, events), events) if e[1] == "o"]
    j = 0
    snaps = []
    for k in range(n_frames):
        t = round(k * 1_000_000 / fps)
        while j < len(outs) and outs[j][0] <= t:
            stream.feed(outs[j][1])
            j += 1
        snaps.append(snapshot(screen, _rgb_of, np.int64))
    assert j == len(outs), "output events after the last frame's time"
    return snaps


def assert_cast_reproduces(cast: Path, frames, palette, fps: float) -> None:
    """The cast's output, fed to pyte, shows exactly ``frames`` (text, colours, attrs, cursor)."""
    header, events = read_cast(cast)
    got = replay_cast_frames(header, events, fps, len(frames))
    pal = np.array([int(x) for x in palette] + [-1] * (256 - len(palette)), np.int64)
    for k, (want, have) in enumerate(zip(frames, got)):
        chars, fg, bg, attrs, cursor = want[:5]
        for name, a, b in zip(("chars", "fg", "bg", "attrs", "cursor"),
                              (chars, pal[fg], pal[bg], attrs, cursor), have):
            assert np.array_equal(a, b), f"frame {k}: {name} differs\n{a}\n{b}"


def run_cli(args, capsys) -> tuple[int, str]:
    """Run the real CLI entry point in-process; returns (exit code, stderr)."""
    from sessionforge.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().err
