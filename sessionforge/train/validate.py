"""Validation during training (``train.eval_every``): the loss on a fixed set of held-out windows.

The set: every window of the val sessions, cut as the loader cuts them (frames 0, L, 2L, ...
of a session, each with the frame after it for its last target), shuffled with a fixed seed
(:data:`VAL_SEED`, not ``train.seed``: runs that differ in seed score the same windows), the
first ``train.eval_windows`` of them. Each window is scored from a zero integrator state,
chunk by chunk in ``no_grad`` with training's own chunk loss, so the number is the loss with
at most L frames of context: comparable across runs of one window length, and across window
lengths as what each L buys. ``sessionforge eval`` scores units with a carried state instead.

Validation draws no random numbers and leaves the model in the mode it found it, so a run
with validation trains exactly as one without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sessionforge.dataset import SessionRef, ShardSet
from sessionforge.formats import ShardReader
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.train.bptt import IGNORE, _autocast, chunk_loss, _embed

VAL_SEED = 20261206


@dataclass
class ValResult:
    """One validation: the mean loss per valid target and the loss by position in the window."""

    loss: float
    tokens: int  # valid targets scored
    windows: int
    position_loss: torch.Tensor  # (L,) mean over windows of each position's loss (fp64)


class Validation:
    """A fixed set of ``count`` windows of ``shards``' sessions (see the module doc), scored ``batch`` at a time."""

    def __init__(self, shards: ShardSet, tokenizer: ActionTokenizer, *, window: int, count: int, batch: int,
                 chunk: int, frame_chunk: int = 0, seed: int = VAL_SEED) -> None:
        L = window
        every = [(ref, w * L) for ref in shards.sessions for w in range((ref.frames - 1) // L)]
        order = np.random.default_rng(seed).permutation(len(every))[:count]
        self.shards, self.window, self.batch, self.chunk, self.frame_chunk = shards, L, batch, chunk, frame_chunk
        self.windows: list[tuple[SessionRef, int]] = [every[int(i)] for i in order]
        self.targets = [self._targets(ref, start, tokenizer) for ref, start in self.windows]  # (L,) each

    def _targets(self, ref: SessionRef, start: int, tokenizer: ActionTokenizer) -> np.ndarray:
        with self.shards.open(ref.shard) as reader:
            data, offsets = reader.read_actions(ref.session, start, start + self.window + 1)
        actions = [data[offsets[t]:offsets[t + 1]] for t in range(len(offsets) - 1)]
        targets, _ = tokenizer.frame_targets(actions)
        return targets

    @torch.no_grad()
    def run(self, model: FBAM, device: torch.device, autocast_dtype: torch.dtype | None = None) -> ValResult:
        """Score every window; the model's mode (train/eval) is restored afterwards."""
        L = self.window
        total, tokens = 0.0, 0
        pos_sum = torch.zeros(L, dtype=torch.float64)
        pos_n = torch.zeros(L, dtype=torch.float64)
        bounds = [(t, min(t + self.chunk, L)) for t in range(0, L, self.chunk)]
        readers: dict[tuple[int, int], ShardReader] = {}
        was_training = model.training
        model.eval()
        try:
            for g in range(0, len(self.windows), self.batch):
                group = self.windows[g:g + self.batch]
                tgt = torch.from_numpy(np.stack(self.targets[g:g + self.batch], axis=1)).to(device)  # (L, B)
                state: object = None
                for t0, t1 in bounds:
                    x = self._frames(readers, group, t0, t1).to(device)  # (K, B, R, C)
                    with _autocast(device, autocast_dtype):
                        y, state = model.integrate(_embed(model, x, self.frame_chunk), state)  # (K, B, H)
                        ce = chunk_loss(model, y, tgt[t0:t1]).double()  # (K, B)
                    valid = (tgt[t0:t1] != IGNORE).double()
                    total += float((ce * valid).sum())
                    tokens += int(valid.sum())
                    pos_sum[t0:t1] += (ce * valid).sum(dim=1).cpu()
                    pos_n[t0:t1] += valid.sum(dim=1).cpu()
        finally:
            for r in readers.values():
                r.close()
            model.train(was_training)
        return ValResult(total / max(tokens, 1), tokens, len(self.windows), pos_sum / pos_n.clamp(min=1))

    def _frames(self, readers: dict, group: list[tuple[SessionRef, int]], t0: int, t1: int) -> FrameInputs:
        """Frames [t0, t1) of each window of ``group`` -> FrameInputs (t1-t0, B, R, C); one reader per
        (lane, shard), since a reader caches one block and the lanes read different sessions."""
        parts = []
        for lane, (ref, start) in enumerate(group):
            reader = readers.get((lane, ref.shard))
            if reader is None:
                for key in [k for k in readers if k[0] == lane]:
                    readers.pop(key).close()
                reader = readers[(lane, ref.shard)] = self.shards.open(ref.shard)
            parts.append(reader.read_frames(ref.session, start + t0, start + t1))
        stack = lambda name: np.stack([getattr(p, name) for p in parts], axis=1)  # noqa: E731  (K, B, ...)
        return FrameInputs(
            torch.from_numpy(stack("chars").view(np.int32)),  # code points < 2^31: as the loader hands them over
            torch.from_numpy(stack("fg")), torch.from_numpy(stack("bg")), torch.from_numpy(stack("attrs")),
            torch.from_numpy(stack("cursor")),
            torch.from_numpy(np.stack([self.shards.palette(ref) for ref, _ in group])),  # (B, 256, 3)
        )


def overlap(a: ShardSet, b: ShardSet) -> bool:
    """Whether any session of ``b`` is also a session of ``a`` (the same shard file and index)."""
    seen = {(a.paths[r.shard].resolve(), r.session) for r in a.sessions}
    return any((b.paths[r.shard].resolve(), r.session) in seen for r in b.sessions)
