"""Count-based baselines over the action-token targets: the add-one unigram and an n-gram.

Both predict the same thing the model predicts, on the same positions: the target token of
each frame (see :mod:`sessionforge.model.tokenizer`; ``<cont>`` included), from the targets
of the frames before it, never from the screen. They are fitted on *streams*: the targets
of one run of consecutive windows of a session (an eval unit, where the model's state also
starts from zero), each stream's history starting empty (padded with a BOS id that is only
ever context, never predicted).

**Unigram** (``n = 1``), add-one (Laplace) smoothing over the V token ids::

    P0(w) = (c(w) + 1) / (N + V)

**n-gram** (``n = 4``: the context is the previous 3 targets), interpolated Witten-Bell
(Witten & Bell 1991; SRILM's ``-wbdiscount -interpolate``), recursively down to the add-one
unigram. For the context h of order k (the last k targets) and its shorter context h'::

    C(h) = times h was seen as a context,  T(h) = distinct tokens seen after h,
    Pk(w | h) = (c(h, w) + T(h) * Pk-1(w | h')) / (C(h) + T(h))   if C(h) > 0,
    Pk(w | h) = Pk-1(w | h')                                       if C(h) = 0.

Summed over w, the numerator is C(h) + T(h): every Pk is a proper distribution over the V
ids, so cross-entropies are comparable with the model's. Top-k predictions break ties
between equal probabilities towards the lower token id.

Counts are kept as sorted ``uint64`` keys (context ids and the token packed 16 bits each),
so a vocabulary may hold at most 65,535 ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

BITS = 16
MASK = np.uint64((1 << BITS) - 1)
MAX_VOCAB = (1 << BITS) - 1  # ids 0..V-1 plus BOS = V must fit in 16 bits
_COMPACT_AT = 1 << 22  # raw keys buffered before they are merged into the counts


@dataclass
class Scores:
    """Per-target results of one predictor, aligned with the targets it was given."""

    nats: np.ndarray  # (N,) float64: -ln P(target)
    top1: np.ndarray  # (N,) bool: the target is the most probable token
    top5: np.ndarray  # (N,) bool: the target is among the 5 most probable tokens


def topk_ids(p: np.ndarray, k: int) -> np.ndarray:
    """The ids of the ``k`` largest entries of ``p`` (V,), largest first, ties to the lower id."""
    k = min(k, p.shape[0])
    kth = np.partition(p, p.shape[0] - k)[p.shape[0] - k]  # the k-th largest value
    cand = np.flatnonzero(p >= kth)  # every id tied with it too, so the tie-break is exact
    order = np.lexsort((cand, -p[cand]))
    return cand[order[:k]]


class _Order:
    """Counts of (context of k tokens, next token) as sorted packed keys, plus per-context totals."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.uint64)  # sorted unique (context << 16 | token)
        self.counts = np.zeros(0, np.int64)
        self._raw: list[np.ndarray] = []
        self._raw_n = 0
        self.contexts = np.zeros(0, np.uint64)  # sorted unique packed contexts
        self.context_total = np.zeros(0, np.int64)  # C(h)
        self.context_types = np.zeros(0, np.int64)  # T(h)

    def add(self, keys: np.ndarray) -> None:
        self._raw.append(keys)
        self._raw_n += len(keys)
        if self._raw_n >= _COMPACT_AT:
            self._compact()

    def _compact(self) -> None:
        if not self._raw:
            return
        keys = np.concatenate([self.keys, *self._raw])
        weights = np.concatenate([self.counts, np.ones(self._raw_n, np.int64)])
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.counts = np.bincount(inverse, weights=weights, minlength=len(self.keys)).astype(np.int64)
        self._raw, self._raw_n = [], 0

    def finish(self) -> None:
        self._compact()
        ctx = self.keys >> np.uint64(BITS)  # sorted, since the keys are
        self.contexts, first = np.unique(ctx, return_index=True)
        self.context_total = np.add.reduceat(self.counts, first) if len(first) else np.zeros(0, np.int64)
        self.context_types = np.diff(np.append(first, len(ctx))).astype(np.int64)

    def context_stats(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(C(h), T(h)) for packed contexts ``h`` (N,); zeros for unseen contexts."""
        pos = np.searchsorted(self.contexts, h)
        hit = pos < len(self.contexts)
        hit[hit] = self.contexts[pos[hit]] == h[hit]
        C = np.where(hit, self.context_total[np.minimum(pos, len(self.contexts) - 1)] if len(self.contexts) else 0, 0)
        T = np.where(hit, self.context_types[np.minimum(pos, len(self.contexts) - 1)] if len(self.contexts) else 0, 0)
        return C, T

    def pair_counts(self, h: np.ndarray, w: np.ndarray) -> np.ndarray:
        """c(h, w) for packed contexts (N,) and tokens (N,)."""
        key = (h << np.uint64(BITS)) | w.astype(np.uint64)
        pos = np.searchsorted(self.keys, key)
        hit = pos < len(self.keys)
        hit[hit] = self.keys[pos[hit]] == key[hit]
        return np.where(hit, self.counts[np.minimum(pos, len(self.keys) - 1)] if len(self.keys) else 0, 0)

    def followers(self, h: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens seen after the packed context ``h`` and their counts."""
        lo = np.searchsorted(self.keys, np.uint64(h) << np.uint64(BITS))
        hi = np.searchsorted(self.keys, np.uint64(h + 1) << np.uint64(BITS))
        return (self.keys[lo:hi] & MASK).astype(np.int64), self.counts[lo:hi]


class NGramBaseline:
    """The add-one unigram (``n=1``) or the interpolated Witten-Bell n-gram; see the module doc."""

    def __init__(self, vocab: int, n: int) -> None:
        if not 1 <= vocab <= MAX_VOCAB:
            raise ValueError(f"the count baselines support vocabularies of 1..{MAX_VOCAB} ids, not {vocab}")
        if n < 1:
            raise ValueError(f"n-gram order must be >= 1, not {n}")
        self.vocab, self.n = vocab, n
        self.bos = vocab  # context padding: never a target
        self.unigram = np.zeros(vocab, np.int64)  # c(w)
        self.orders = [_Order() for _ in range(n - 1)]  # orders[k-1]: contexts of k tokens
        self._p0: np.ndarray | None = None
        self.streams = 0

    @property
    def tokens(self) -> int:
        """Number of targets counted (N)."""
        return int(self.unigram.sum())

    def _contexts(self, stream: np.ndarray) -> np.ndarray:
        """(len, n-1) uint64: the previous n-1 targets of every position, oldest first, BOS-padded."""
        m = self.n - 1
        padded = np.concatenate([np.full(m, self.bos, np.int64), stream.astype(np.int64)])
        idx = np.arange(len(stream))[:, None] + np.arange(m)[None, :]  # (len, m)
        return padded[idx].astype(np.uint64)

    def _pack(self, ctx: np.ndarray, k: int) -> np.ndarray:
        """Pack the last ``k`` columns of contexts (N, n-1) into one uint64 each (oldest highest)."""
        h = np.zeros(ctx.shape[0], np.uint64)
        for j in range(ctx.shape[1] - k, ctx.shape[1]):
            h = (h << np.uint64(BITS)) | ctx[:, j]
        return h

    def fit(self, streams: Iterable[np.ndarray]) -> "NGramBaseline":
        """Count every stream (a 1-D array of target ids, history starting empty); returns self."""
        for stream in streams:
            stream = np.asarray(stream, np.int64)
            if len(stream) and (stream.min() < 0 or stream.max() >= self.vocab):
                raise ValueError(f"target ids must be in 0..{self.vocab - 1}")
            self.streams += 1
            self.unigram += np.bincount(stream, minlength=self.vocab)
            if self.n > 1 and len(stream):
                ctx = self._contexts(stream)
                w = stream.astype(np.uint64)
                for k, order in enumerate(self.orders, start=1):
                    order.add((self._pack(ctx, k) << np.uint64(BITS)) | w)
        for order in self.orders:
            order.finish()
        self._p0 = (self.unigram + 1.0) / (self.unigram.sum() + self.vocab)  # (V,) add-one
        return self

    def _base(self) -> np.ndarray:
        if self._p0 is None:
            self.fit([])
        assert self._p0 is not None
        return self._p0

    def probabilities(self, targets: np.ndarray, contexts: np.ndarray) -> np.ndarray:
        """P(target | context) (N,) for targets (N,) and contexts (N, n-1) of previous ids (BOS-padded)."""
        w = np.asarray(targets, np.int64)
        contexts = np.asarray(contexts, np.uint64).reshape(len(w), self.n - 1)
        p = self._base()[w]
        for k, order in enumerate(self.orders, start=1):
            h = self._pack(contexts, k)
            C, T = order.context_stats(h)
            c = order.pair_counts(h, w)
            seen = C > 0
            p = np.where(seen, (c + T * p) / np.maximum(C + T, 1), p)
        return p

    def distribution(self, context: np.ndarray) -> np.ndarray:
        """The whole distribution (V,) after one context (n-1,) of previous ids (BOS-padded)."""
        p = self._base().copy()
        row = np.asarray(context, np.uint64).reshape(1, -1)
        for k, order in enumerate(self.orders, start=1):
            h = self._pack(row, k)
            C, T = (int(x[0]) for x in order.context_stats(h))
            if C == 0:
                continue
            ids, counts = order.followers(int(h[0]))
            p *= T / (C + T)
            p[ids] += counts / (C + T)
        return p

    def score(self, streams: Sequence[np.ndarray]) -> Scores:
        """Score every target of ``streams`` (each one's history starting empty), concatenated in order."""
        if not streams:
            empty = np.zeros(0, bool)
            return Scores(np.zeros(0), empty, empty.copy())
        targets = np.concatenate([np.asarray(s, np.int64) for s in streams])
        m = self.n - 1
        contexts = (np.concatenate([self._contexts(np.asarray(s, np.int64)) for s in streams])
                    if m else np.zeros((len(targets), 0), np.uint64))
        nats = -np.log(self.probabilities(targets, contexts))
        # Top-k needs the whole distribution: once per distinct context, not per target.
        if m:
            uniq, inverse = np.unique(contexts, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        else:
            uniq, inverse = contexts[:1], np.zeros(len(targets), np.int64)
        top = np.full((len(uniq), 5), -1, np.int64)  # (U, 5); -1 pads a vocabulary under 5 ids
        for i, u in enumerate(uniq):
            ids = topk_ids(self.distribution(u), 5)
            top[i, : len(ids)] = ids
        mine = top[inverse]  # (N, 5)
        return Scores(nats, mine[:, 0] == targets, (mine == targets[:, None]).any(axis=1))


__all__ = ["MAX_VOCAB", "NGramBaseline", "Scores", "topk_ids"]
