"""Terminal.moves (the writer's ``moves`` hint): the rows a snapshot scrolled, and nothing else."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionforge.formats import ShardWriter, open_shard
from sessionforge.replay.terminal import Terminal

ROWS, COLS = 8, 20

tokens = st.one_of(
    st.text(alphabet=st.sampled_from("ab XY日\u0301"), min_size=1, max_size=12),
    st.tuples(st.integers(1, ROWS), st.integers(1, ROWS)).map(lambda t: f"\x1b[{min(t)};{max(t)}r"),
    st.integers(1, ROWS).map(lambda y: f"\x1b[{y}H"),
    st.sampled_from(["\n", "\r\n", "\x1bM", "\x1bD", "\x1bE", "\x1b[r", "\x1b[L", "\x1b[M", "\x1b[2K",
                     "\x1b[3@", "\x1b[2P", "\x1b[1;7m", "\x1b[0m", "\x1b[J"]),
)


def _apply(prev: tuple[np.ndarray, ...], cur: tuple[np.ndarray, ...], moves, spans) -> list[np.ndarray]:
    """What a reader rebuilds: the previous planes, rows moved, then the spans' cells."""
    out = [p.copy() for p in prev]
    for q, p in zip(out, prev):
        for dst, src, k in moves:
            q[dst:dst + k] = p[src:src + k]
    for q, c in zip(out, cur):
        for y, a, b in spans:
            q[y, a:b] = c[y, a:b]
    return out


def test_scroll_region_reports_its_rows():
    t = Terminal(ROWS, COLS)
    t.snapshot()
    t.feed(b"\x1b[2;6r\x1b[6H\n")          # IND at the bottom margin: rows 2..5 (1-based) move up
    t.snapshot()
    assert t.moves == [(1, 2, 4)]
    t.feed(b"\x1b[2H\x1bM\x1bM\x1b[r")       # RI twice at the top margin
    t.snapshot()
    assert t.moves == [(3, 1, 3)]
    t.feed(b"abc")
    t.snapshot()
    assert t.moves == []


@settings(max_examples=150, deadline=None)
@given(feeds=st.lists(st.lists(tokens, min_size=1, max_size=8), min_size=1, max_size=15))
def test_moves_then_spans_rebuild_every_snapshot(feeds):
    t = Terminal(ROWS, COLS)
    t.snapshot()
    for feed in feeds:
        prev = (t.chars.copy(), t.fg.copy(), t.bg.copy(), t.attrs.copy())
        t.feed("".join(feed).encode())
        spans = t.snapshot()
        for dst, src, k in t.moves:
            assert k > 0 and dst != src and 0 <= min(dst, src) and max(dst, src) + k <= ROWS
        got = _apply(prev, (t.chars, t.fg, t.bg, t.attrs), t.moves, spans)
        for g, w in zip(got, (t.chars, t.fg, t.bg, t.attrs)):
            np.testing.assert_array_equal(g, w)


def test_hinted_frames_written_and_read_back(tmp_path):
    # The pipeline's path: terminal planes + spans + moves into the writer, frames back exact.
    t = Terminal(ROWS, COLS)
    t.snapshot()
    want = []
    with ShardWriter(tmp_path / "t.tss", ROWS, COLS, codec="zstd", block_frames=16) as w:
        w.begin_session({}, list(range(18)))
        for i in range(60):
            t.feed(f"\x1b[2;{ROWS - 1}r\x1b[{ROWS - 1}H\nline {i} {'x' * (i % 13)}\x1b[r".encode())
            spans = t.snapshot()
            assert t.moves
            w.add_frame(t.chars, t.fg, t.bg, t.attrs, t.cursor, b"\n", spans, t.moves)
            want.append(t.chars.copy())
        w.end_session()
    with open_shard(tmp_path / "t.tss") as r:
        np.testing.assert_array_equal(r.read_session(0).chars, np.stack(want))

