#!/usr/bin/env python
"""termstream format benchmark: encode/decode speed and bytes/frame on editor-like streams.

Generates a realistic 48x160 editor session in-process (title bar, line-number
gutter, syntax colours, status line with a Ln/Col counter, help line; the script
moves the cursor with arrow runs, deletes lines, types new code line by line,
scrolls one line at a time at the viewport edges and jumps with PgDn), then:

* encode: ``ShardWriter.add_frame`` with exact ``changed`` hints, frames/s of the
  writer alone (the cost of updating the screen arrays is measured separately and
  subtracted), including the final flush of the background compression;
* decode: ``read_frames`` in chunks into one reused ``Frames`` buffer, with the numpy
  decoder (the baseline) and the compiled (numba) one when numba is installed; an
  untimed pass then checks that both give the same frames, every plane;
* size: shard bytes / frames;

for xz and zstd, beside a naive baseline: every full grid (chars u32 + fg + bg +
attrs) compressed as one xz stream.

    python bench/format_bench.py --frames 20000 --json /tmp/format_bench.json
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import random
import re
import sys
import tempfile
import time

import numpy as np

from sessionforge.formats import ATTR_BOLD, ATTR_REVERSE, Frames, ShardWriter, open_shard
from sessionforge.formats.block import resolve_decoder

ROWS, COLS = 48, 160
TEXT_TOP, TEXT_ROWS, GUTTER = 1, 45, 6
FG, BG, DIM, KW, STR, COMMENT, NUM, BAR = range(8)
PALETTE = [0xD0D0D0, 0x101010, 0x606060, 0x5F87FF, 0x87D75F, 0x808080, 0xFFAF5F, 0xE0E0E0]
KEYWORDS = {"def", "return", "if", "else", "elif", "for", "in", "import", "from", "class", "None", "True",
            "False", "while", "not", "and", "or", "is", "with", "as", "yield", "try", "except", "raise"}
NAMES = ["value", "result", "items", "index", "frame", "buffer", "config", "path", "count", "offset", "self",
         "row", "col", "data", "key", "node", "parse", "emit", "total", "width", "height", "token", "state"]
TOKEN_RE = re.compile(r"#.*|\"[^\"]*\"?|'[^']*'?|\d+|\w+|\s+|.")


def code_line(rng: random.Random) -> str:
    """One plausible line of Python-like code."""
    ind = "    " * rng.choice([0, 1, 1, 2, 2, 2, 3])
    a, b, c = rng.sample(NAMES, 3)
    forms = [f"def {a}_{b}({c}, {a}):", f"{a} = {b}.{c}({rng.randint(0, 999)})", f"return {a} + {b}",
             f"if {a} is None:", f"for {a} in {b}.{c}:", f'{a}["{b}"] = {c}  # {b} {a}',
             f"{a}.{b}({c}, {rng.randint(0, 64)}, '{b}')", f"while not {a}:", f"raise ValueError(f\"bad {b}\")",
             f"{a} += {rng.randint(1, 9)}", "", f"class {a.title()}{b.title()}:", f"import {a}", f"# {a} then {b}"]
    return ind + rng.choice(forms)


class Editor:
    """A tiny editor model that renders into numpy planes and reports exact changed spans."""

    def __init__(self, rng: random.Random, lines: int = 400) -> None:
        self.rng = rng
        self.doc = [code_line(rng) for _ in range(lines)]
        self.top, self.line, self.col = 0, 0, 0
        self.chars = np.full((ROWS, COLS), 32, np.uint32)
        self.fg = np.full((ROWS, COLS), FG, np.uint8)
        self.bg = np.full((ROWS, COLS), BG, np.uint8)
        self.attrs = np.zeros((ROWS, COLS), np.uint8)
        self._put(0, " sessionforge-edit 0.1        src/module.py", FG, BAR, ATTR_REVERSE)
        self._put(47, "^G Go To  ^O Open  ^S Save  ^K Cut  ^X Exit", FG, BG, ATTR_BOLD)
        self.full_render()

    def _row_cells(self, text: str, fg: list[int] | int, bg: int, attr: int) -> tuple[np.ndarray, ...]:
        text = text[:COLS].ljust(COLS)
        ch = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        f = np.full(COLS, fg, np.uint8) if isinstance(fg, int) else np.array((fg + [FG] * COLS)[:COLS], np.uint8)
        return ch, f, np.full(COLS, bg, np.uint8), np.full(COLS, attr, np.uint8)

    def _put(self, r: int, text: str, fg, bg: int, attr: int) -> list[tuple]:
        """Render a row; return its changed span (with values) if any."""
        new = self._row_cells(text, fg, bg, attr)
        m = np.zeros(COLS, bool)
        for old, n in zip((self.chars, self.fg, self.bg, self.attrs), new):
            m |= old[r] != n
        idx = np.flatnonzero(m)
        if len(idx) == 0:
            return []
        a, b = int(idx[0]), int(idx[-1]) + 1
        for old, n in zip((self.chars, self.fg, self.bg, self.attrs), new):
            old[r, a:b] = n[a:b]
        return [(r, a, b, new[0][a:b].copy(), new[1][a:b].copy(), new[2][a:b].copy(), new[3][a:b].copy())]

    def text_row(self, r: int) -> list[tuple]:
        i = self.top + r
        if i >= len(self.doc):
            return self._put(TEXT_TOP + r, "", FG, BG, 0)
        line = self.doc[i]
        colours = [DIM] * GUTTER
        for tok in TOKEN_RE.findall(line):
            c = (KW if tok in KEYWORDS else COMMENT if tok[0] == "#" else STR if tok[0] in "\"'"
                 else NUM if tok[0].isdigit() else FG)
            colours += [c] * len(tok)
        return self._put(TEXT_TOP + r, f"{i + 1:>5} " + line, colours, BG, 0)

    def status(self) -> list[tuple]:
        return self._put(46, f"  Ln {self.line + 1}, Col {self.col + 1}   ({len(self.doc)} lines)", FG, BG, 0)

    def full_render(self) -> list[tuple]:
        ups = []
        for r in range(TEXT_ROWS):
            ups += self.text_row(r)
        return ups + self.status()

    def scroll_into_view(self) -> list[tuple]:
        if self.line < self.top:
            self.top = self.line
        elif self.line >= self.top + TEXT_ROWS:
            self.top = self.line - TEXT_ROWS + 1
        else:
            return []
        return self.full_render()

    def cursor(self) -> tuple[int, int, bool]:
        return (TEXT_TOP + self.line - self.top, GUTTER + self.col, True)

    # ---- actions: each returns (action bytes, updates)
    def move(self, dl: int) -> tuple[bytes, list]:
        self.line = max(0, min(len(self.doc) - 1, self.line + dl))
        self.col = min(self.col, len(self.doc[self.line]))
        return (b"\x1b[B" if dl > 0 else b"\x1b[A"), self.scroll_into_view() + self.status()

    def page_down(self) -> tuple[bytes, list]:
        self.line = min(len(self.doc) - 1, self.line + TEXT_ROWS)
        self.top = min(max(0, len(self.doc) - TEXT_ROWS), self.top + TEXT_ROWS)
        self.col = min(self.col, len(self.doc[self.line]))
        return b"\x1b[6~", self.scroll_into_view() + self.full_render()

    def home(self) -> tuple[bytes, list]:
        self.col = 0
        return b"\x1b[H", self.status()

    def type_char(self, ch: str) -> tuple[bytes, list]:
        s = self.doc[self.line]
        self.doc[self.line] = s[: self.col] + ch + s[self.col :]
        self.col += 1
        return ch.encode(), self.text_row(self.line - self.top) + self.status()

    def enter(self) -> tuple[bytes, list]:
        s = self.doc[self.line]
        self.doc[self.line : self.line + 1] = [s[: self.col], s[self.col :]]
        self.line, self.col = self.line + 1, 0
        ups = self.scroll_into_view()
        for r in range(self.line - 1 - self.top, TEXT_ROWS):
            ups += self.text_row(r)
        return b"\r", ups + self.status()

    def cut_line(self) -> tuple[bytes, list]:
        if len(self.doc) > 1:
            del self.doc[self.line]
            self.line = min(self.line, len(self.doc) - 1)
        self.col = 0
        ups = self.scroll_into_view()
        for r in range(self.line - self.top, TEXT_ROWS):
            ups += self.text_row(r)
        return b"\x0b", ups + self.status()


def generate(frames: int, seed: int = 0) -> tuple[tuple[np.ndarray, ...], list]:
    """Initial screen and a list of (action, cursor, updates) for ``frames`` frames."""
    rng = random.Random(seed)
    ed = Editor(rng)
    first = tuple(p.copy() for p in (ed.chars, ed.fg, ed.bg, ed.attrs))
    out: list = [(b"", ed.cursor(), [])]
    while len(out) < frames:
        target = max(0, min(len(ed.doc) - 1, ed.line + rng.randint(-30, 60)))
        if target - ed.line > TEXT_ROWS and rng.random() < 0.5:
            act, ups = ed.page_down()
            out.append((act, ed.cursor(), ups))
        while ed.line != target and len(out) < frames:  # arrow runs
            act, ups = ed.move(1 if target > ed.line else -1)
            out.append((act, ed.cursor(), ups))
        act, ups = ed.home()
        out.append((act, ed.cursor(), ups))
        for _ in range(rng.choice([0, 0, 1, 2])):
            act, ups = ed.cut_line()
            out.append((act, ed.cursor(), ups))
        for _ in range(rng.randint(1, 6)):  # type new lines of code
            act, ups = ed.enter()
            out.append((act, ed.cursor(), ups))
            for ch in code_line(rng):
                act, ups = ed.type_char(ch)
                out.append((act, ed.cursor(), ups))
    return first, out[:frames]


def apply(planes: tuple[np.ndarray, ...], ups: list) -> list[tuple[int, int, int]]:
    """Apply a frame's updates to the screen planes (the producer's work); returns the hint spans."""
    spans = []
    for r, a, b, *vals in ups:
        for p, v in zip(planes, vals):
            p[r, a:b] = v
        spans.append((r, a, b))
    return spans


def _clocks() -> tuple[float, float, float]:
    """(wall, CPU of this thread, CPU of the whole process)."""
    return time.perf_counter(), time.thread_time(), time.process_time()


def bench_codec(codec: str, first: tuple, stream: list, tmp: str, chunk: int, decoders: list[str]) -> dict:
    """Encode the stream with ShardWriter, decode it with each decoder (read_frames into a reused buffer)."""
    path = os.path.join(tmp, f"bench-{codec}.tss")
    planes = tuple(p.copy() for p in first)
    w0, t0, _ = _clocks()  # the producer's own work (updating the planes), subtracted below
    for act, cur, ups in stream:
        apply(planes, ups)
    w1, t1, _ = _clocks()
    producer_wall, producer_cpu = w1 - w0, t1 - t0
    planes = tuple(p.copy() for p in first)
    w0, t0, p0 = _clocks()
    with ShardWriter(path, ROWS, COLS, codec=codec) as w:
        w.begin_session({"bench": "editor"}, PALETTE)
        for act, cur, ups in stream:
            w.add_frame(*planes, cur, act, apply(planes, ups))
        w1, t1, _ = _clocks()
        w.end_session()
    w2, _, p2 = _clocks()
    n = len(stream)
    size = os.path.getsize(path)
    row = {
        "codec": codec, "frames": n, "bytes": size, "bytes_per_frame": size / n,
        "add_frame_us": 1e6 * max(0.0, (t1 - t0) - producer_cpu) / n,  # main-thread CPU in add_frame
        "encode_fps": n / max(1e-9, (w2 - w0) - producer_wall),  # wall, incl. waiting for compression
        "encode_fps_cpu": n / max(1e-9, (p2 - p0) - producer_cpu),  # CPU of all threads
    }
    for decoder in decoders:
        fps, fps_cpu, ok = bench_decode(path, decoder, n, chunk, planes)
        row[f"decode_{decoder}_fps"], row[f"decode_{decoder}_fps_cpu"] = fps, fps_cpu
        row[f"decode_{decoder}_last_frame_matches"] = ok
    if len(decoders) == 2:
        row["decoders_agree"] = decoders_agree(path, n, chunk)
    return row


def warm_encoder() -> None:
    """Load numba and the writer's cached kernels (if installed) before anything is timed.

    A build worker pays this once per process (~0.5 s), not per frame; untimed it would
    land on the first codec's add_frame.
    """
    with tempfile.TemporaryDirectory() as tmp:
        with ShardWriter(os.path.join(tmp, "warm.tss"), 4, 8) as w:
            w.begin_session({}, [0])
            for k in range(3):
                w.add_frame(np.full((4, 8), 65 + k, np.uint32), *np.zeros((3, 4, 8), np.uint8), (0, 0, True), b"")
            w.end_session()


def bench_decode(path: str, decoder: str, n: int, chunk: int, last: tuple) -> tuple[float, float, bool]:
    """(wall f/s, CPU f/s, last frame == producer's) of read_frames in chunks into one reused buffer."""
    buf = Frames.empty(chunk, ROWS, COLS)
    with open_shard(path, decoder=decoder) as r:
        r.read_frames(0, 0, min(n, chunk), out=buf)  # touch the buffer's pages once; compiles the kernels
        r._cache = None  # noqa: SLF001 - start the timed run cold
        d0, dt0, _ = _clocks()
        for start in range(0, n, chunk):
            got = r.read_frames(0, start, min(n, start + chunk), out=buf)
        d1, dt1, _ = _clocks()
    ok = all((a[len(got) - 1] == b).all() for a, b in zip((got.chars, got.fg, got.bg, got.attrs), last))
    return n / (d1 - d0), n / (dt1 - dt0), bool(ok)


def decoders_agree(path: str, n: int, chunk: int) -> bool:
    """Every frame, every plane: the compiled decoder's output equals the numpy decoder's (untimed)."""
    with open_shard(path, decoder="numpy") as a, open_shard(path, decoder="compiled") as b:
        for start in range(0, n, chunk):
            x, y = a.read_frames(0, start, min(n, start + chunk)), b.read_frames(0, start, min(n, start + chunk))
            if not all(np.array_equal(p, q) for p, q in zip((x.chars, x.fg, x.bg, x.attrs, x.cursor),
                                                           (y.chars, y.fg, y.bg, y.attrs, y.cursor))):
                return False
    return True


def bench_naive(first: tuple, stream: list, frames: int) -> dict:
    """Baseline: every full grid (chars u32, fg, bg, attrs) + cursor + action appended to one xz stream."""
    planes = tuple(p.copy() for p in first)
    comp = lzma.LZMACompressor(preset=6)
    out, t_enc, raw_len = [], 0.0, 0
    for act, cur, ups in stream[:frames]:
        apply(planes, ups)
        t0 = time.process_time()
        raw = b"".join(p.tobytes() for p in planes) + bytes([cur[0], cur[1], cur[2]]) + act
        out.append(comp.compress(raw))
        t_enc += time.process_time() - t0
        raw_len += len(raw)
    t0 = time.process_time()
    out.append(comp.flush())
    t_enc += time.process_time() - t0
    data = b"".join(out)
    buf = np.empty(raw_len, np.uint8)
    t0 = time.process_time()
    dec = lzma.LZMADecompressor()
    pos, piece = 0, dec.decompress(data, max_length=1 << 24)
    while True:  # stream into one reused buffer, 16 MiB at a time
        buf[pos : pos + len(piece)] = np.frombuffer(piece, np.uint8)
        pos += len(piece)
        if dec.eof or not piece:
            break
        piece = dec.decompress(b"", max_length=1 << 24)
    t_dec = time.process_time() - t0
    assert pos == raw_len, (pos, raw_len)
    return {"codec": "naive: full grids, xz", "frames": frames, "bytes": len(data),
            "bytes_per_frame": len(data) / frames, "encode_fps_cpu": frames / t_enc, "decode_fps_cpu": frames / t_dec}


def calibrate() -> dict:
    """How fast is this machine right now? (numpy call overhead and memcpy bandwidth)."""
    a = np.zeros((48, 160), np.uint32)
    t0 = time.process_time()
    for i in range(20000):
        a[5, 3:6] = i
    call_us = (time.process_time() - t0) / 20000 * 1e6
    src = np.ones(64 << 20, np.uint8)
    dst = np.zeros_like(src)
    t0 = time.process_time()
    for _ in range(4):
        np.copyto(dst, src)
    gbs = 4 * src.nbytes / (time.process_time() - t0) / 1e9
    return {"numpy_slice_assign_us": call_us, "memcpy_gb_s": gbs}


def bench_typing_frame(tmp: str, frames: int = 20000) -> float:
    """Main-thread CPU us of add_frame for a typing frame: 2 exact spans (the typed cell, the Col counter)."""
    planes = (np.full((ROWS, COLS), 32, np.uint32),) + tuple(np.zeros((ROWS, COLS), np.uint8) for _ in range(3))
    with ShardWriter(os.path.join(tmp, "typing.tss"), ROWS, COLS) as w:
        w.begin_session({}, PALETTE)
        t0 = time.thread_time()
        for i in range(frames):
            c = i % 150
            planes[0][5, c] = 97 + i % 26
            planes[0][46, 12] = 48 + i % 10
            w.add_frame(*planes, (5, c + 1, True), b"a", [(5, c, c + 1), (46, 12, 13)])
        dt = time.thread_time() - t0
        w.end_session()
    return 1e6 * dt / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=20000, help="frames in the generated session")
    ap.add_argument("--baseline-frames", type=int, default=2000, help="frames for the (slow) naive baseline")
    ap.add_argument("--chunk", type=int, default=1024, help="frames per read_frames call when decoding")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON here")
    ap.add_argument("--keep", metavar="DIR", help="keep the written shards (bench-xz.tss, bench-zstd.tss) in DIR")
    args = ap.parse_args()
    t0 = time.perf_counter()
    first, stream = generate(args.frames, args.seed)
    gen_s = time.perf_counter() - t0
    cal = calibrate()
    decoders = ["numpy"] + (["compiled"] if resolve_decoder("auto") else [])
    warm_encoder()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or tmp
        os.makedirs(out_dir, exist_ok=True)
        for codec in ("xz", "zstd"):
            rows.append(bench_codec(codec, first, stream, out_dir, args.chunk, decoders))
        typing_us = bench_typing_frame(tmp)
    rows.append(bench_naive(first, stream, min(args.baseline_frames, args.frames)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"termstream format benchmark: {args.frames} editor-like frames at {ROWS}x{COLS} "
          f"(generated in {gen_s:.1f} s), python {platform.python_version()}, load average {load:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"machine now: one small numpy slice assignment = {cal['numpy_slice_assign_us']:.2f} us CPU, "
          f"memcpy {cal['memcpy_gb_s']:.1f} GB/s (an idle modern core: ~0.3 us, >10 GB/s)")
    print("f/s = frames per second; 'cpu' columns divide by CPU seconds (robust on a busy machine),")
    print("wall columns by elapsed time; add_frame = main-thread CPU per frame (compression runs on a thread)")
    print("dec = decoding (read_frames into one reused buffer), CPU f/s, with the numpy decoder (the baseline)")
    print("and the compiled (numba) one" + ("" if "compiled" in decoders else " - not measured: numba is not installed")
          + "; the naive row inflates its xz stream into one buffer")
    head = (f"{'codec':<24}{'frames':>7}{'enc f/s':>10}{'enc cpu':>10}{'add_frame':>11}{'dec numpy':>11}"
            f"{'dec compiled':>14}{'ratio':>7}{'B/frame':>9}")
    print(head)
    for r in rows:
        def f(key, fmt="{:,.0f}"):
            return fmt.format(r[key]) if key in r else "-"
        ratio = (f"{r['decode_compiled_fps_cpu'] / r['decode_numpy_fps_cpu']:.2f}x"
                 if "decode_compiled_fps_cpu" in r else "-")
        print(f"{r['codec']:<24}{r['frames']:>7}{f('encode_fps'):>10}{f('encode_fps_cpu'):>10}"
              f"{f('add_frame_us', '{:.1f} us'):>11}{f('decode_numpy_fps_cpu' if 'decode_numpy_fps_cpu' in r else 'decode_fps_cpu'):>11}{f('decode_compiled_fps_cpu'):>14}"
              f"{ratio:>7}{r['bytes_per_frame']:>9.2f}")
    print(f"add_frame of a typing frame (2 exact 1-cell spans, xz): {typing_us:.1f} us main-thread CPU")
    if not all(v for r in rows for k, v in r.items() if k.endswith("_matches") or k == "decoders_agree"):
        print("ERROR: decoded frames differ from the encoded ones", file=sys.stderr)
        sys.exit(1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames": args.frames, "rows": ROWS, "cols": COLS, "load_average": load,
                       "cpus": os.cpu_count(), "calibration": cal, "add_frame_typing_us": typing_us,
                       "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
