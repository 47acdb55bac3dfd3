#!/usr/bin/env python
"""Editor + terminal micro-benchmark: per-key cost of press, pyte feed and snapshot.

For each scenario (typing at the end / in the middle of a line, arrows, Enter,
Backspace, Ctrl-K, scrolling, and a mixed replay-like session) on a 48x160 screen
with a realistic code file, it measures per key:

* press: ``Editor.press`` (key handling + escape-byte emission),
* feed: ``Terminal.feed`` (pyte parsing and drawing through the tracking screen),
* snap: ``Terminal.snapshot`` (reading the changed cells into the planes),
* bytes: escape bytes emitted,

and, in the same run, the baseline "bare pyte": the same byte chunks fed one key at a
time into a stock ``pyte.Screen`` through ``pyte.ByteStream``, no snapshots. The ratio
column is (press + feed + snap) / bare.

A second table (``--table lines``) gives the per-key cost against the length of the
line being edited, 100 to 100,000 code points, for a plain ASCII line and one mixed
with tabs, wide CJK characters and control characters, with the cursor at the end of
the line and in its middle (a horizontally scrolled window). Each timed key sequence
types, deletes and moves (tab, wide and Alt-V control characters in the mixed case),
so the line keeps its length and kind. Per-key cost should not depend on the length.

    python bench/editor_bench.py [--keys 3000] [--table keys|lines|all] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from typing import Callable

import pyte

from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal

ROWS, COLS = 48, 160
UP, DOWN, RIGHT, LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D"
NAMES = ["value", "result", "items", "index", "frame", "buffer", "config", "path", "count", "offset"]


def code_line(rng: random.Random) -> str:
    """One plausible line of Python-like code."""
    a, b, c = rng.sample(NAMES, 3)
    ind = "    " * rng.choice([0, 1, 1, 2, 2, 3])
    forms = [f"def {a}_{b}({c}, {a}):", f"{a} = {b}.{c}({rng.randint(0, 999)})", f"return {a} + {b}",
             f"if {a} is None:", f"for {a} in {b}.{c}:", f'{a}["{b}"] = {c}  # {b} {a}', ""]
    return ind + rng.choice(forms)


def make_file(rng: random.Random, n: int = 400) -> str:
    return "\n".join(code_line(rng) for _ in range(n)) + "\n"


def _type(text: str) -> list[bytes]:
    return [b"\r" if ch == "\n" else ch.encode() for ch in text]


def _goto(line: int) -> list[bytes]:
    return [b"\x07", *[d.encode() for d in str(line)], b"\r"]


# scenario name -> (setup keys, timed keys) given an rng and a key budget
def scenarios(rng: random.Random, n: int) -> dict[str, tuple[list[bytes], list[bytes]]]:
    line_text = "".join(code_line(rng) + " " for _ in range(n // 20 + 1))[:n]
    mid = _goto(200) + [b"\x1b[F"] + [LEFT] * 12
    mixed: list[bytes] = []
    while len(mixed) < n:
        mixed += _goto(rng.randint(1, 380))
        mixed += [DOWN] * rng.randint(0, 8) + [b"\x1b[F"]
        mixed += [b"\x0b"] * rng.randint(0, 3)
        for _ in range(rng.randint(1, 4)):
            mixed += _type(code_line(rng) + "\n")
        mixed += [b"\x13"]
    return {
        "type at end of line": (_goto(200) + [b"\x1b[F"], [c.encode() for c in line_text[:min(n, 120)]] * 1),
        "type in mid line": (mid, [c.encode() for c in line_text[:min(n, 100)]]),
        "type new lines": (_goto(200) + [b"\x1b[F"], _type("\n".join(code_line(rng) for _ in range(n // 30)))[:n]),
        "right/left": (_goto(200), ([RIGHT] * 30 + [LEFT] * 30) * (n // 60)),
        "up/down": (_goto(180), ([DOWN] * 20 + [UP] * 20) * (n // 40)),
        "enter mid file": (_goto(150) + [RIGHT] * 4, [b"\r"] * min(n, 300)),
        "backspace": (_goto(220) + [b"\x1b[F"], [b"\x7f"] * min(n, 300)),
        "cut line (ctrl-k)": (_goto(100), [b"\x0b"] * min(n, 250)),
        "scroll down/up": (_goto(1), [DOWN] * min(n // 2, 300) + [UP] * min(n // 2, 300)),
        "mixed session": ([], mixed[:n]),
    }


def _setup(text: str, setup: list[bytes]) -> tuple[Editor, list[bytes]]:
    ed = Editor(ROWS, COLS, {"f.py": text})
    chunks = [ed.redraw()]
    for k in [b"\x0f", b"f", b".", b"p", b"y", b"\r", *setup]:
        chunks.append(ed.press(k))
    return ed, chunks


def _terminal(chunks: list[bytes]) -> Terminal:
    term = Terminal(ROWS, COLS)
    for c in chunks:
        term.feed(c)
    term.snapshot()
    return term


def _best(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def run_scenario(text: str, setup: list[bytes], keys: list[bytes], repeat: int = 3) -> dict[str, float]:
    """Per-key costs, each stage timed in bulk on CPU time (best of ``repeat``).

    CPU time (``time.process_time``) rather than wall time because the benchmark
    machine may be shared; stages are timed in separate passes over the same bytes:
    press alone, feed + snapshot, feed alone (snapshot = the difference), stock pyte.
    """
    clock = time.process_time
    outs: list[bytes] = []

    def press() -> float:
        ed, _ = _setup(text, setup)
        p = ed.press
        t0 = clock()
        got = [p(k) for k in keys]
        dt = clock() - t0
        outs[:] = got
        return dt

    t_press = _best(press, repeat)
    _, chunks = _setup(text, setup)

    def feed_snap() -> float:
        term = _terminal(chunks)
        feed, snap = term.feed, term.snapshot
        t0 = clock()
        for out in outs:
            feed(out)
            snap()
        return clock() - t0

    def feed_only() -> float:
        term = _terminal(chunks)
        feed = term.feed
        t0 = clock()
        for out in outs:
            feed(out)
        return clock() - t0

    def bare() -> float:
        screen = pyte.Screen(COLS, ROWS)
        stream = pyte.ByteStream(screen)
        for c in chunks:
            stream.feed(c)
        feed = stream.feed
        t0 = clock()
        for out in outs:
            feed(out)
        return clock() - t0

    t_fs = _best(feed_snap, repeat)
    t_feed = _best(feed_only, repeat)
    t_bare = _best(bare, repeat)
    t_snap = max(0.0, t_fs - t_feed)
    n = len(keys)
    us = 1e6 / n
    total = t_press + t_fs
    return {"keys": n, "bytes_per_key": sum(map(len, outs)) / n, "press_us": t_press * us,
            "feed_us": t_feed * us, "snap_us": t_snap * us, "total_us": total * us,
            "bare_pyte_us": t_bare * us, "ratio": total / t_bare if t_bare else float("nan"),
            "keys_per_s": n / total}


# --------------------------------------------------------------------------- long lines

LINE_KINDS = ("plain", "mixed")

def long_line(n: int, kind: str) -> str:
    """A line of ``n`` code points: code-like ASCII, or mixed with tabs, CJK and controls."""
    base = "value = items[index] + offset  # frame "
    if kind == "plain":
        return (base * (n // len(base) + 1))[:n]
    piece = "val\tue = 日本[i] \x1b + off\x00set 漢字 "
    return (piece * (n // len(piece) + 1))[:n]


def line_keys(kind: str, where: str, n: int, length: int) -> tuple[list[bytes], int]:
    """About ``n`` timed keys that never bring the line back to an earlier state (a cache
    keyed by line content must not help), and how many code points they add to it.

    In mid line each round types a character, walks back, deletes an original character
    with Backspace, walks forward, types another and deletes an original one with
    Delete: the line keeps its length. At the end of the line there is nothing to
    delete ahead: each round types two characters and deletes the first, so the line
    grows by one a round. Rounds are capped at ``length // 4``.
    """
    typed = [c.encode() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    if kind == "mixed":
        typed = [b"\t", "日".encode(), b"\x1bv\x01", b"A", "界".encode(), b"\x1bv\x1b"]
    left, right, bs, delete = b"\x1b[D", b"\x1b[C", b"\x7f", b"\x1b[3~"
    keys: list[bytes] = []
    rounds = 0
    while len(keys) < n and rounds < length // 4:
        x, y = typed[rounds % len(typed)], typed[(rounds + 1) % len(typed)]
        if where == "mid":
            keys += [x, left, left, bs, right, right, y, delete]
        else:
            keys += [x, y, left, bs, right]
        rounds += 1
    # Alt-V and its character are two key presses
    keys = [k for key in keys for k in ([key[:2], key[2:]] if key.startswith(b"\x1bv") else [key])]
    return keys, 0 if where == "mid" else rounds


def _line_editor(text: str, col: int) -> tuple[Editor, list[bytes]]:
    """An editor on ``text`` (the long line, then a short one) with the cursor at ``col``
    of line 1; the cursor is placed directly (walking there by arrows would take
    ``col`` keys), then Right/Left redraw the view around it."""
    ed = Editor(ROWS, COLS, {"f.txt": text})
    chunks = [ed.redraw()]
    for k in [b"\x0f", b"f", b".", b"t", b"x", b"t", b"\r"]:
        chunks.append(ed.press(k))
    ed.cursor_col = ed._want = max(0, col - 1)
    chunks += [ed.press(b"\x1b[C"), ed.press(b"\x1b[D"), ed.press(b"\x1b[C"), ed.press(b"a"), ed.press(b"\x7f")]
    return ed, chunks


def run_line(length: int, kind: str, where: str, nkeys: int, repeat: int) -> dict[str, float]:
    """Per-key CPU time of press and press + feed + snapshot on one long line."""
    clock = time.process_time
    text = long_line(length, kind) + "\nshort line\n"
    col = length if where == "end" else length // 2
    keys, growth = line_keys(kind, where, nkeys, length)
    outs: list[bytes] = []

    def press() -> float:
        ed, _ = _line_editor(text, col)
        p = ed.press
        t0 = clock()
        got = [p(k) for k in keys]
        dt = clock() - t0
        outs[:] = got
        assert len(ed.lines[0]) == length + growth, "the timed keys went astray"
        return dt

    def feed_snap() -> float:
        term = _terminal(_line_editor(text, col)[1])
        feed, snap = term.feed, term.snapshot
        t0 = clock()
        for out in outs:
            feed(out)
            snap()
        return clock() - t0

    t_press = _best(press, repeat)
    t_fs = _best(feed_snap, repeat)
    n = len(keys)
    return {"length": length, "kind": kind, "where": where, "keys": n,
            "bytes_per_key": sum(map(len, outs)) / n, "press_us": t_press * 1e6 / n,
            "total_us": (t_press + t_fs) * 1e6 / n}


def line_table(lengths: list[int], nkeys: int, repeat: int) -> dict[str, dict[str, float]]:
    """Print and return the per-key cost against line length (see the module docstring)."""
    cases = [(kind, where) for kind in LINE_KINDS for where in ("end", "mid")]
    print(f"\nper-key cost vs line length, {ROWS}x{COLS}; CPU us per key (press / press+feed+snap), "
          f"best of {repeat}")
    print(f"{'length':>8s} " + " ".join(f"{k + ' ' + w:>17s}" for k, w in cases))
    results: dict[str, dict[str, float]] = {}
    for length in lengths:
        cells = []
        for kind, where in cases:
            r = run_line(length, kind, where, nkeys, repeat)
            results[f"{kind} {where} {length}"] = r
            cells.append(f"{r['press_us']:7.1f} / {r['total_us']:7.1f}")
        print(f"{length:8d} " + " ".join(f"{c:>17s}" for c in cells))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=3000, help="timed keys per scenario (upper bound)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings per stage")
    ap.add_argument("--only", default=None, help="run scenarios whose name contains this text")
    ap.add_argument("--json", default=None, metavar="OUT", help="write the results as JSON")
    ap.add_argument("--table", choices=("keys", "lines", "all"), default="all",
                    help="keys: the scenario table; lines: per-key cost against line length")
    ap.add_argument("--line-lengths", default="100,1000,10000,100000", metavar="N,N,...",
                    help="line lengths (code points) of the lines table")
    ap.add_argument("--line-keys", type=int, default=400, help="timed keys per line-table cell")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    text = make_file(rng)
    results: dict[str, dict[str, float]] = {}
    hdr = f"{'scenario':22s} {'keys':>6s} {'B/key':>6s} {'press':>7s} {'feed':>7s} {'snap':>7s} " \
          f"{'total':>7s} {'bare':>7s} {'ratio':>6s} {'keys/s':>8s}"
    if args.table != "lines":
        print(f"editor bench {ROWS}x{COLS}, python {platform.python_version()}, pyte 0.8; "
              f"CPU us per key, best of {args.repeat}")
        print(hdr)
    for name, (setup, keys) in scenarios(rng, args.keys).items():
        if args.table == "lines" or args.only and args.only not in name:
            continue
        r = run_scenario(text, setup, keys, args.repeat)
        results[name] = r
        print(f"{name:22s} {r['keys']:6d} {r['bytes_per_key']:6.1f} {r['press_us']:7.1f} {r['feed_us']:7.1f} "
              f"{r['snap_us']:7.1f} {r['total_us']:7.1f} {r['bare_pyte_us']:7.1f} {r['ratio']:6.2f} "
              f"{r['keys_per_s']:8.0f}")
    lines: dict[str, dict[str, float]] = {}
    if args.table != "keys":
        lengths = [int(x) for x in args.line_lengths.split(",") if x]
        lines = line_table(lengths, args.line_keys, args.repeat)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": ROWS, "cols": COLS, "python": platform.python_version(),
                       "machine": platform.machine(), "results": results, "line_lengths": lines}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
