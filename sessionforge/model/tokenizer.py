"""Action tokenizer: raw key bytes of consecutive frames -> action tokens.

Vocabulary (ids in this order, fixed by the file's version):

- ``0``: ``<cont>`` -- "no new token starts with the next frame's keys" (see targets);
- ``1..256``: the 256 single bytes (so any byte string can be encoded);
- ``257..380``: runs of 1-31 presses of each arrow key (``ESC [ A/B/C/D``), one token
  per (arrow, run length) -- a run of 7 "down" presses is one token;
- then learned pieces: frequent multi-byte strings of the dataset (escape sequences,
  identifiers, indentation, operator clusters), picked by bytes saved
  (count x (length - 1)) up to the configured vocabulary size.

Encoding is greedy longest match over the concatenated bytes of consecutive frames,
so one token may span several frames (an arrow run is one token over several frames).

**Targets.** Frame t is the screen *after* frame t's keys. The model reads frame t and
predicts the next keys, so ``target[t]`` is the first token that *starts* inside
frame t+1's action bytes; if no token starts there (frame t+1 has no keys, or its
keys continue a token started in an earlier frame) the target is ``<cont>``. When
several tokens start in one frame only the first is a target (replay sends one key
per frame, so this is rare; :func:`frame_targets` counts the others as dropped).
Tokenization of a window restarts at the window's first target frame, so targets
depend only on the frames of the window plus the one after it.

File: JSON, ``{"format": "sessionforge-action-tokenizer", "version": 1, ...}`` with
pieces as hex strings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from sessionforge.errors import SessionforgeError
from sessionforge.files import write_atomic

FORMAT = "sessionforge-action-tokenizer"
VERSION = 1
CONT = 0
BYTE_OFFSET = 1
ARROWS = (b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D")
MAX_ARROW_RUN = 31
BASE_VOCAB = 1 + 256 + len(ARROWS) * MAX_ARROW_RUN

# Candidate pieces: escape sequences, identifiers (+ a following space or '('),
# newline + indentation, indentation runs, operator clusters.
_CANDIDATES = re.compile(
    rb"\x1b\[[0-9;]*[ -/]*[@-~]|\x1bO[@-~]"
    rb"|[A-Za-z_][A-Za-z0-9_]*[ (]?"
    rb"|\r[ \t]+|[ ]{2,}|\t{2,}"
    rb"|[!-/:-@\[-`{-~]{2,}"
)


class TokenizerError(SessionforgeError):
    """A tokenizer file is missing, unreadable or of an unknown version."""


class ActionTokenizer:
    """Greedy longest-match tokenizer over action bytes; see the module docstring."""

    def __init__(self, learned: Sequence[bytes] = ()) -> None:
        pieces: list[bytes] = [b""] + [bytes([b]) for b in range(256)]
        for arrow in ARROWS:
            pieces += [arrow * n for n in range(1, MAX_ARROW_RUN + 1)]
        base = set(pieces)
        self.learned = [p for p in dict.fromkeys(learned) if len(p) >= 2 and p not in base]
        self.pieces = pieces + self.learned
        self._ids = {p: i for i, p in enumerate(self.pieces) if p}
        lens: dict[int, set[int]] = {}
        for p in self._ids:
            if len(p) > 1:
                lens.setdefault(p[0], set()).add(len(p))
        # Longest first: the first hit is the greedy longest match.
        self._lens = [sorted(lens.get(b, ()), reverse=True) for b in range(256)]

    @property
    def vocab_size(self) -> int:
        """Number of token ids (including ``<cont>``)."""
        return len(self.pieces)

    def encode_with_starts(self, data: bytes) -> tuple[list[int], list[int]]:
        """Greedy longest match; returns token ids and each token's start offset in ``data``."""
        ids: list[int] = []
        starts: list[int] = []
        i, n = 0, len(data)
        table, lens_by_first = self._ids, self._lens
        while i < n:
            tok, step = BYTE_OFFSET + data[i], 1
            for length in lens_by_first[data[i]]:
                if length <= n - i:
                    hit = table.get(data[i : i + length])
                    if hit is not None:
                        tok, step = hit, length
                        break
            ids.append(tok)
            starts.append(i)
            i += step
        return ids, starts

    def encode(self, data: bytes) -> list[int]:
        """Bytes -> token ids."""
        return self.encode_with_starts(data)[0]

    def decode(self, ids: Iterable[int]) -> bytes:
        """Token ids -> bytes (``<cont>`` decodes to nothing)."""
        return b"".join(self.pieces[i] for i in ids)

    def frame_targets(self, actions: Sequence[bytes]) -> tuple[np.ndarray, int]:
        """Targets for frames 0..T-1 from the actions of frames 0..T (T+1 items).

        Returns (targets (T,) int64, dropped) where dropped counts tokens that start in a
        frame after another token already started there (not used as targets).
        """
        T = len(actions) - 1
        targets = np.full(T, CONT, dtype=np.int64)
        if T <= 0:
            return targets[:0], 0
        nexts = actions[1:]
        lengths = np.fromiter((len(a) for a in nexts), dtype=np.int64, count=T)
        bounds = np.concatenate([[0], np.cumsum(lengths)])  # (T+1,) byte offset where each frame starts
        ids, starts = self.encode_with_starts(b"".join(nexts))
        if not ids:
            return targets, 0
        frame_of = np.searchsorted(bounds, np.asarray(starts), side="right") - 1  # (n_tokens,)
        first = np.ones(len(ids), dtype=bool)
        first[1:] = frame_of[1:] != frame_of[:-1]
        targets[frame_of[first]] = np.asarray(ids)[first]
        return targets, int((~first).sum())

    def to_dict(self) -> dict:
        """The JSON-ready description of this tokenizer."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "vocab_size": self.vocab_size,
            "arrows": [a.hex() for a in ARROWS],
            "max_arrow_run": MAX_ARROW_RUN,
            "learned": [p.hex() for p in self.learned],
        }

    def save(self, path: str | Path) -> None:
        """Write the versioned JSON file, atomically: a failure part-way (disk full, Ctrl-C)
        leaves an existing tokenizer at ``path`` whole instead of truncated."""
        write_atomic(Path(path), (json.dumps(self.to_dict(), indent=1) + "\n").encode("utf-8"))

    @classmethod
    def from_dict(cls, data: dict, source: str = "tokenizer") -> "ActionTokenizer":
        """Rebuild from :meth:`to_dict` output, checking format and version."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise TokenizerError(f"{source}: not a sessionforge action tokenizer file")
        if data.get("version") != VERSION:
            raise TokenizerError(f"{source}: tokenizer version {data.get('version')!r} is not supported (want {VERSION})")
        if data.get("arrows") != [a.hex() for a in ARROWS] or data.get("max_arrow_run") != MAX_ARROW_RUN:
            raise TokenizerError(f"{source}: arrow tokens differ from this version's")
        try:
            learned = [bytes.fromhex(h) for h in data["learned"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenizerError(f"{source}: bad 'learned' list: {exc}") from None
        tok = cls(learned)
        if tok.vocab_size != data.get("vocab_size"):
            raise TokenizerError(f"{source}: vocab_size {data.get('vocab_size')} != {tok.vocab_size} pieces")
        return tok

    @classmethod
    def load(cls, path: str | Path) -> "ActionTokenizer":
        """Read a tokenizer file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TokenizerError(f"{path}: tokenizer file not found") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TokenizerError(f"{path}: not JSON: {exc}") from None
        return cls.from_dict(data, str(path))


def learn_pieces(streams: Iterable[bytes], vocab_size: int, max_piece: int = 24, min_count: int = 2) -> list[bytes]:
    """Pick up to ``vocab_size - BASE_VOCAB`` frequent multi-byte pieces from action streams.

    Each stream is one session's concatenated action bytes. Candidates come from a
    regex (escape sequences, identifiers, indentation, operator clusters); each is
    scored by the bytes it would save, count x (length - 1).
    """
    budget = vocab_size - BASE_VOCAB
    if budget < 0:
        raise TokenizerError(f"vocab size {vocab_size} is below the fixed base vocabulary of {BASE_VOCAB}")
    counts: Counter[bytes] = Counter()
    for data in streams:
        found = _CANDIDATES.findall(data)
        # An identifier is counted with and without its trailing space/paren.
        found += [m[:-1] for m in found if m[-1:] in (b" ", b"(") and len(m) > 2 and m[:1].isalpha()]
        counts.update(m for m in found if 2 <= len(m) <= max_piece)
    base = {a * n for a in ARROWS for n in range(1, MAX_ARROW_RUN + 1)}
    ranked = sorted(
        (p for p, c in counts.items() if c >= min_count and p not in base),
        key=lambda p: (-counts[p] * (len(p) - 1), p),  # ties broken by bytes: deterministic
    )
    return ranked[:budget]


def build_tokenizer(streams: Iterable[bytes], vocab_size: int, max_piece: int = 24) -> ActionTokenizer:
    """Learn pieces from ``streams`` and return the tokenizer."""
    return ActionTokenizer(learn_pieces(streams, vocab_size, max_piece))
