"""What eval reads: units of consecutive windows, their targets, and their frames.

Windows and units are cut exactly as the training loader cuts them
(:mod:`sessionforge.train.loader`): a session's windows of L frames start at frames 0, L,
2L, ... (a window needs L+1 frames: the frame after it gives the last target), and runs of
up to ``stream_windows`` consecutive windows form a *unit*, at whose start the model's
state is zero. Targets are the tokenizer's per-window targets
(:meth:`~sessionforge.model.tokenizer.ActionTokenizer.frame_targets`), as in training.

Which units: all units of the chosen sessions are shuffled with the seed, then taken in
that order until ``--frames`` is reached (whole windows; the last unit taken may be cut
short). So a seed fixes the frames, and a larger ``--frames`` adds frames without
changing the ones already chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sessionforge.dataset import SessionRef, ShardSet
from sessionforge.dataset.windows import Unit
from sessionforge.formats import ShardReader
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.tokenizer import ActionTokenizer


@dataclass
class UnitTargets:
    """A unit's targets and the action bytes they cover."""

    targets: np.ndarray  # (windows, L) int64 token ids
    action_bytes: np.ndarray  # (windows,) int64: bytes of the frames whose keys are targets (frames 1..L)
    dropped: int  # tokens that started in a frame after another one (not targets; see the tokenizer)


def choose_units(units: list[Unit], max_windows: int, seed: int) -> list[Unit]:
    """Units in an order fixed by ``seed``, taken until ``max_windows`` windows (the last one cut short)."""
    order = np.random.default_rng(seed).permutation(len(units))
    chosen: list[Unit] = []
    left = max_windows
    for i in order:
        if left <= 0:
            break
        u = units[int(i)]
        take = min(u.windows, left)
        chosen.append(Unit(u.ref, u.start, take))
        left -= take
    return chosen


class Readers:
    """Open shard readers, one per (lane, shard): a reader caches one decoded block, so lanes that
    read different sessions of one shard must not share one (they would evict each other's block
    at every chunk). Eval decodes on one thread. Close when done."""

    def __init__(self, shards: ShardSet) -> None:
        self.shards = shards
        self._open: dict[tuple[int, int], ShardReader] = {}

    def get(self, shard: int, lane: int = 0) -> ShardReader:
        """The reader of ``shard`` for ``lane``."""
        r = self._open.get((lane, shard))
        if r is None:
            for old in [k for k in self._open if k[0] == lane]:
                self._open.pop(old).close()  # a lane reads one shard at a time: keep few files open
            r = self._open[(lane, shard)] = self.shards.open(shard)
        return r

    def close(self) -> None:
        """Close every reader."""
        for r in self._open.values():
            r.close()
        self._open.clear()

    def __enter__(self) -> "Readers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unit_targets(readers: Readers, unit: Unit, tokenizer: ActionTokenizer, window: int) -> UnitTargets:
    """Targets of every window of ``unit``, tokenized window by window as training does."""
    L = window
    data, offsets = readers.get(unit.ref.shard).read_actions(unit.ref.session, unit.start,
                                                            unit.start + unit.windows * L + 1)
    actions = [data[offsets[t]:offsets[t + 1]] for t in range(len(offsets) - 1)]  # one per frame
    targets = np.zeros((unit.windows, L), np.int64)
    nbytes = np.zeros(unit.windows, np.int64)
    dropped = 0
    for w in range(unit.windows):
        acts = actions[w * L : w * L + L + 1]  # the window's frames and the one after it
        targets[w], d = tokenizer.frame_targets(acts)
        dropped += d
        nbytes[w] = int(offsets[w * L + L + 1] - offsets[w * L + 1])
    return UnitTargets(targets, nbytes, dropped)


def read_frames(readers: Readers, streams: list[tuple[SessionRef, int]], t0: int, t1: int,
                lanes: list[int] | None = None) -> FrameInputs:
    """Frames [t0, t1) of windows starting at ``(session, first frame)`` -> FrameInputs (t1-t0, B, R, C).

    ``lanes``: a stable reader slot per stream (default: its position in ``streams``)."""
    slots = lanes if lanes is not None else list(range(len(streams)))
    parts = [readers.get(ref.shard, lane).read_frames(ref.session, first + t0, first + t1)
             for lane, (ref, first) in zip(slots, streams)]
    stack = lambda name: np.stack([getattr(p, name) for p in parts], axis=1)  # noqa: E731  (T, B, ...)
    palette = np.stack([readers.shards.palette(ref) for ref, _ in streams])  # (B, 256, 3)
    return FrameInputs(
        torch.from_numpy(stack("chars").view(np.int32)),  # code points < 2^31: as the loader hands them over
        torch.from_numpy(stack("fg")), torch.from_numpy(stack("bg")), torch.from_numpy(stack("attrs")),
        torch.from_numpy(stack("cursor")), torch.from_numpy(palette),
    )


__all__ = ["Readers", "UnitTargets", "choose_units", "read_frames", "unit_targets"]
