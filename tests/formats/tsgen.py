"""Random termstream sessions for the format tests: frames plus correct ``changed`` hints."""

from __future__ import annotations

import numpy as np

# Code points worth covering: NUL, ASCII, Latin-1, CJK (wide), emoji, the last code point.
CODEPOINTS = np.array([0, 32, 65, 0x7E, 0xE9, 0x4E2D, 0xFF21, 0x1F600, 0x10FFFF, 0x20, 0x61], np.uint32)


def random_session(rng: np.random.Generator, rows: int, cols: int, frames: int, npal: int,
                   hints: str = "mixed") -> list[tuple]:
    """Frames as (chars, fg, bg, attrs, cursor, action, changed) with copies of every plane.

    Each frame edits random cell runs, scrolls (rows shift up or down by one) or stays
    the same; ``changed`` is None, the exact changed runs, or a random superset of them.
    """
    ch = rng.choice(CODEPOINTS, (rows, cols)).astype(np.uint32)
    fg = rng.integers(0, npal, (rows, cols)).astype(np.uint8)
    bg = rng.integers(0, npal, (rows, cols)).astype(np.uint8)
    at = rng.integers(0, 128, (rows, cols)).astype(np.uint8)
    out = []
    for t in range(frames):
        planes = (ch, fg, bg, at)
        prev = tuple(p.copy() for p in planes)
        op = rng.random()
        if op < 0.25 and rows > 1:  # scroll by one row, a fresh row enters
            d = 1 if rng.random() < 0.5 else -1
            for p in planes:
                p[:] = np.roll(p, -d, axis=0)
            r = rows - 1 if d == 1 else 0
            ch[r] = rng.choice(CODEPOINTS, cols)
            fg[r] = rng.integers(0, npal, cols)
        elif op < 0.9:  # edit a few runs
            for _ in range(int(rng.integers(1, 4))):
                r = int(rng.integers(rows))
                a = int(rng.integers(cols))
                b = int(rng.integers(a, cols + 1))
                ch[r, a:b] = rng.choice(CODEPOINTS, b - a)
                if rng.random() < 0.5:
                    fg[r, a:b] = rng.integers(0, npal, b - a)
                    bg[r, a:b] = rng.integers(0, npal, b - a)
                    at[r, a:b] = rng.integers(0, 128, b - a)
        changed = _hint(rng, prev, planes, hints)
        n_act = int(rng.choice([0, 1, 3, 300]))
        action = rng.integers(0, 256, n_act).astype(np.uint8).tobytes()
        cursor = (int(rng.integers(rows + 1)), int(rng.integers(cols + 1)), bool(rng.integers(2)))
        out.append((ch.copy(), fg.copy(), bg.copy(), at.copy(), cursor, action, changed))
    return out


def _hint(rng: np.random.Generator, prev: tuple, planes: tuple, mode: str) -> list | None:
    m = np.zeros(prev[0].shape, bool)
    for a, b in zip(prev, planes):
        m |= a != b
    kind = mode if mode != "mixed" else ("none", "exact", "coarse")[int(rng.integers(3))]
    if kind == "none":
        return None
    cols = m.shape[1]
    spans = []
    for r in np.flatnonzero(m.any(axis=1)).tolist():
        c = np.flatnonzero(m[r])
        if kind == "exact":
            spans.append((r, int(c[0]), int(c[-1]) + 1))
        else:  # a correct but loose hint: widened, sometimes the whole row, sometimes split in two
            a, b = int(rng.integers(0, c[0] + 1)), int(rng.integers(c[-1] + 1, cols + 1))
            if rng.random() < 0.3 and b - a > 1:
                mid = int(rng.integers(a + 1, b))
                spans += [(r, mid, b), (r, a, mid + 1)]
            else:
                spans.append((r, a, b))
    if kind == "coarse" and rng.random() < 0.5:  # extra spans over unchanged cells are allowed too
        spans.append((int(rng.integers(m.shape[0])), 0, int(rng.integers(cols + 1))))
    return spans


def write_sessions(writer, sessions: list[tuple[dict, list[int], list[tuple]]]) -> None:
    """Write (meta, palette, frames) sessions with ``writer``."""
    for meta, palette, frames in sessions:
        writer.begin_session(meta, palette)
        for chars, fg, bg, attrs, cursor, action, changed in frames:
            writer.add_frame(chars, fg, bg, attrs, cursor, action, changed)
        writer.end_session({"frames_written": len(frames)})


def assert_frames_equal(got, frames: list[tuple], start: int = 0) -> None:
    """``got`` (a Frames) equals ``frames[start:start + len(got)]`` exactly."""
    for k in range(len(got)):
        chars, fg, bg, attrs, cursor, action, _ = frames[start + k]
        where = f"frame {start + k}"
        np.testing.assert_array_equal(got.chars[k], chars, err_msg=where)
        np.testing.assert_array_equal(got.fg[k], fg, err_msg=where)
        np.testing.assert_array_equal(got.bg[k], bg, err_msg=where)
        np.testing.assert_array_equal(got.attrs[k], attrs, err_msg=where)
        assert tuple(got.cursor[k].tolist()) == (cursor[0], cursor[1], int(cursor[2])), where
        assert got.action(k) == action, where
