"""A small synthetic termstream generator for the training tests and benchmarks.

It simulates someone typing words into a tiny editor: each frame's action is one key
(a printable byte, Enter, or an arrow escape), the screen shows a title bar, the text
with the cursor, and a status line with line:column. Deterministic for a seed, so
tests can write a dataset in a fraction of a second without the replay machinery.

With ``show_next=True`` the title bar shows the keys still to come (a typing tutor:
Enter as U+23CE, arrows as U+2190/U+2192, an idle frame as U+00B7), so the next
action can be read off the screen: a dataset a small model can learn quickly.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from sessionforge.formats import ATTR_BOLD, ATTR_REVERSE, ShardWriter

WORDS = ["def ", "return ", "self.x", "foo(", ")", "if ", "else:", "  ", "42", "print("]
LEFT, RIGHT = b"\x1b[D", b"\x1b[C"
_GLYPHS = {b"\r": "\u23ce", LEFT: "\u2190", RIGHT: "\u2192", b"": "\u00b7"}
PALETTE = [0x000000, 0xCD0000, 0x00CD00, 0xCDCD00, 0x0000EE, 0xCD00CD, 0x00CDCD, 0xE5E5E5]


def session_keys(rng: random.Random, frames: int) -> list[bytes]:
    """Keys for ``frames`` frames: frame 0 has none, then words, Enter and arrow round trips."""
    keys: list[bytes] = [b""]
    while len(keys) < frames:
        r = rng.random()
        if r < 0.15:
            keys.append(b"\r")
        elif r < 0.25:
            k = rng.randint(1, 4)
            keys += [LEFT] * k + [RIGHT] * k
        elif r < 0.28:
            keys.append(b"")  # an idle frame
        else:
            keys += [bytes([c]) for c in rng.choice(WORDS).encode()]
    return keys[:frames]


class _Screen:
    """Text buffer + cursor rendered into rows x cols planes."""

    def __init__(self, rows: int, cols: int, title: str) -> None:
        self.rows, self.cols, self.title = rows, cols, title
        self.lines: list[str] = [""]
        self.row = self.col = 0

    def key(self, k: bytes) -> None:
        line = self.lines[self.row]
        if k == b"\r":
            self.lines[self.row : self.row + 1] = [line[: self.col], line[self.col :]]
            self.row, self.col = self.row + 1, 0
        elif k == LEFT:
            self.col = max(0, self.col - 1)
        elif k == RIGHT:
            self.col = min(len(line), self.col + 1)
        elif k:
            self.lines[self.row] = line[: self.col] + k.decode() + line[self.col :]
            self.col += 1

    def render(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, int, bool]]:
        R, C = self.rows, self.cols
        chars = np.full((R, C), ord(" "), np.uint32)
        fg = np.full((R, C), 7, np.uint8)
        bg = np.zeros((R, C), np.uint8)
        attrs = np.zeros((R, C), np.uint8)
        view = R - 2
        top = max(0, self.row - view + 1)

        def put(r: int, text: str) -> None:
            cps = [ord(ch) for ch in text[:C]]
            chars[r, : len(cps)] = cps

        put(0, self.title)
        attrs[0] |= ATTR_REVERSE
        for r, line in enumerate(self.lines[top : top + view]):
            put(r + 1, line)
            seg = chars[r + 1]
            fg[r + 1] = np.where((seg >= ord("0")) & (seg <= ord("9")), 3, 2)
        put(R - 1, f"{self.row + 1}:{self.col + 1}")
        bg[R - 1] = 4
        attrs[R - 1] |= ATTR_BOLD
        col = min(self.col, C - 1)
        return chars, fg, bg, attrs, (self.row - top + 1, col, True)


def write_synthetic_shard(
    path: str | Path,
    *,
    sessions: int = 2,
    frames: int = 200,
    rows: int = 8,
    cols: int = 32,
    seed: int = 0,
    codec: str = "zstd",
    show_next: bool = False,
) -> Path:
    """Write ``sessions`` sessions of ``frames`` frames each into a shard at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ShardWriter(path, rows=rows, cols=cols, codec=codec, block_frames=64) as w:
        for s in range(sessions):
            rng = random.Random(seed * 1000 + s)
            w.begin_session({"repo": f"synthetic-{seed}", "session": s}, PALETTE)
            screen = _Screen(rows, cols, f"synth {seed}.{s}")
            keys = session_keys(rng, frames)
            for t, k in enumerate(keys):
                screen.key(k)
                if show_next:
                    screen.title = "".join(_GLYPHS.get(n, n.decode()) for n in keys[t + 1 : t + 1 + cols])
                chars, fg, bg, attrs, cursor = screen.render()
                w.add_frame(chars, fg, bg, attrs, cursor, k)
            w.end_session()
    return path


def write_synthetic_dataset(root: str | Path, shards: dict[str, dict]) -> Path:
    """A finished dataset folder as ``build-dataset`` leaves one: ``shards/<name>`` written with
    :func:`write_synthetic_shard` (``shards`` maps a name to its keyword arguments), a manifest,
    an empty errors table and, last, ``dataset.json`` with each shard's size and sha256."""
    import polars as pl

    from sessionforge.dataset.tables import DATASET_FORMAT, DATASET_FORMAT_VERSION, errors_frame
    from sessionforge.files import sha256_file, write_json_atomic

    root = Path(root)
    rows: list[dict] = []
    listed: dict[str, dict] = {}
    for name, kwargs in shards.items():
        path = write_synthetic_shard(root / "shards" / name, **kwargs)
        for s in range(kwargs.get("sessions", 2)):
            rows.append({"id": f"{Path(name).stem}-{s}", "shard": name, "index": s,
                         "frames": kwargs.get("frames", 200)})
        listed[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    pl.DataFrame(rows).write_parquet(root / "manifest.parquet")
    errors_frame([]).write_parquet(root / "errors.parquet")
    write_json_atomic(root / "dataset.json", {"format": DATASET_FORMAT, "format_version": DATASET_FORMAT_VERSION,
                                              "shards": listed})
    return root
