"""Evaluation: the model and two count baselines scored on the same held-out targets.

1. Choose units of the eval split's sessions (:mod:`sessionforge.evaluate.units`) and read
   their targets (action bytes only, no frames).
2. Fit the baselines on the *train* split's targets, cut into the same windows and units
   (:mod:`sessionforge.evaluate.baselines`), and score the chosen targets with them.
3. Score the model streaming, in ``no_grad``: units run in groups of ``batch`` lanes,
   window after window; each window is read and embedded chunk by chunk (frame head in
   ``frame_chunk`` micro-batches), the integrator runs over the chunk from the state the
   previous chunk left, and the per-position cross-entropy comes from training's own chunk
   loss (passed in as ``chunk_loss``: this package does not import ``train``). The state is
   carried from window to window within a unit when training carried it (``carry``) and is
   zero at every unit start, as in training. Only one chunk's frames and logits exist at once.

Everything is a pure function of the model, the data, the split and the settings (the seed
picks the units), so two runs give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from sessionforge.dataset import DatasetError, SessionRef, ShardSet
from sessionforge.evaluate.baselines import NGramBaseline, Scores
from sessionforge.evaluate.classes import CLASSES, class_table
from sessionforge.evaluate.metrics import bucket_edges, summarize
from sessionforge.dataset.windows import Unit, make_units
from sessionforge.evaluate.units import Readers, UnitTargets, choose_units, read_frames, unit_targets
from sessionforge.model.fbam import FBAM
from sessionforge.model.integrators import map_state

# (model, integrator outputs (K, B, H), targets (K, B)) -> per-position cross-entropy (K, B):
# training's chunk loss (sessionforge.train.bptt), handed in by the command.
ChunkLoss = Callable[[FBAM, torch.Tensor, torch.Tensor], torch.Tensor]
# (phase, done, total): "targets" (units), "baselines" (train sessions), "model" (windows).
Progress = Callable[[str, int, int], None]

UNIGRAM_RULE = "add-one (Laplace) unigram of the train split's targets"
NGRAM_RULE = ("interpolated Witten-Bell {n}-gram over the previous {m} targets, down to the add-one unigram; "
              "history starts empty at each unit (where the model's state is zero)")


@dataclass(frozen=True)
class EvalSettings:
    """How to cut, pick and score (window, units, chunks and carry come from the run's config)."""

    window: int  # L, as trained
    stream_windows: int  # windows per unit, as trained
    chunk: int  # time steps per chunk of frames read and embedded at once
    frame_chunk: int = 0  # frame-head micro-batch (0 = chunk)
    batch: int = 1  # units scored side by side
    carry: bool = True  # carry the integrator state across a unit's windows (training's carry rule)
    frames: int = 16384  # at most this many frames (whole windows)
    seed: int = 0
    buckets: int = 8  # loss-by-position buckets
    ngram: int = 4
    device: str = "cpu"
    autocast_dtype: torch.dtype | None = None


@dataclass
class EvalResult:
    """The report (JSON-ready) and the per-target arrays behind it."""

    report: dict[str, Any]
    targets: np.ndarray  # (N,) int64, in (unit, window, position) order
    positions: np.ndarray  # (N,) int64 position in the window
    scores: dict[str, Scores] = field(default_factory=dict)  # "model", "ngram", "unigram"
    units: list[Unit] = field(default_factory=list)


def _tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


def fit_baselines(shards: ShardSet, sessions: list[SessionRef], tokenizer, settings: EvalSettings,
                  progress: Progress | None = None) -> tuple[NGramBaseline, NGramBaseline]:
    """(unigram, n-gram) fitted on the targets of ``sessions`` cut as training cuts them."""
    streams: list[np.ndarray] = []
    with Readers(shards) as readers:
        for i, ref in enumerate(sessions):
            for unit in make_units([ref], settings.window, settings.stream_windows):
                streams.append(unit_targets(readers, unit, tokenizer, settings.window).targets.reshape(-1))
            _tick(progress, "baselines", i + 1, len(sessions))
    if not streams:
        raise DatasetError(f"no train-split session is longer than one window ({settings.window + 1} frames): "
                           "nothing to fit the baselines on")
    unigram = NGramBaseline(tokenizer.vocab_size, 1).fit(streams)
    ngram = NGramBaseline(tokenizer.vocab_size, settings.ngram).fit(streams)
    return unigram, ngram


@torch.no_grad()
def score_model(model: FBAM, shards: ShardSet, units: list[Unit], targets: list[UnitTargets],
                settings: EvalSettings, chunk_loss: ChunkLoss, progress: Progress | None = None) -> Scores:
    """Stream the model over ``units`` (see the module doc); scores in (unit, window, position) order."""
    L, device = settings.window, torch.device(settings.device)
    offsets = np.cumsum([0] + [u.windows * L for u in units])
    n = int(offsets[-1])
    nats, top1, top5 = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    bounds = [(t, min(t + settings.chunk, L)) for t in range(0, L, settings.chunk)]
    amp = (torch.autocast(device_type=device.type, dtype=settings.autocast_dtype)
           if settings.autocast_dtype is not None else torch.autocast(device_type=device.type, enabled=False))
    total_windows, done = sum(u.windows for u in units), 0
    was_training = model.training
    model.eval()  # no dropout
    try:
        with Readers(shards) as readers:
            for g in range(0, len(units), settings.batch):
                group = list(range(g, min(g + settings.batch, len(units))))
                state: object = None
                lanes = group
                for w in range(max(units[u].windows for u in group)):
                    active = [u for u in lanes if units[u].windows > w]
                    if state is not None and len(active) < len(lanes):
                        keep = torch.tensor([lanes.index(u) for u in active], device=device)
                        state = map_state(state, lambda t: t.index_select(0, keep))  # leaves are batch-first
                    lanes = active
                    if not settings.carry:
                        state = None
                    streams = [(units[u].ref, units[u].start + w * L) for u in lanes]
                    tgt = torch.from_numpy(np.stack([targets[u].targets[w] for u in lanes], axis=1)).to(device)  # (L, B)
                    base = torch.tensor([int(offsets[u]) + w * L for u in lanes])  # (B,) flat index of position 0
                    for t0, t1 in bounds:
                        x = read_frames(readers, streams, t0, t1, [u - g for u in lanes]).to(device)  # (K, B, R, C)
                        with amp:
                            step = settings.frame_chunk or (t1 - t0)
                            e = torch.cat([model.embed_frames(x.slice(a, min(a + step, t1 - t0)))
                                           for a in range(0, t1 - t0, step)])  # (K, B, D)
                            y, state = model.integrate(e, state)  # (K, B, H)
                            ce = chunk_loss(model, y, tgt[t0:t1])  # (K, B)
                            best = model.logits(y).float().topk(min(5, model.vocab_size), dim=-1).indices  # (K, B, 5)
                        idx = (base[None, :] + torch.arange(t0, t1)[:, None]).reshape(-1).numpy()  # (K*B,)
                        hit = best == tgt[t0:t1, :, None]  # (K, B, 5)
                        nats[idx] = ce.double().reshape(-1).cpu().numpy()
                        top1[idx] = hit[..., 0].reshape(-1).cpu().numpy()
                        top5[idx] = hit.any(dim=-1).reshape(-1).cpu().numpy()
                    done += len(lanes)
                    _tick(progress, "model", done, total_windows)
    finally:
        model.train(was_training)
    return Scores(nats, top1, top5)


def evaluate(model: FBAM, tokenizer, shards: ShardSet, eval_sessions: list[SessionRef],
             train_sessions: list[SessionRef], settings: EvalSettings, chunk_loss: ChunkLoss, *,
             split: str = "val", progress: Progress | None = None,
             baseline_shards: ShardSet | None = None) -> EvalResult:
    """Score the model, the n-gram and the unigram on up to ``settings.frames`` frames of ``eval_sessions``,
    the baselines fitted on ``train_sessions`` (sessions of ``baseline_shards`` when given, e.g. the
    training dataset when the held-out frames are another dataset); see the module doc."""
    L = settings.window
    if settings.frames < L:
        raise DatasetError(f"--frames {settings.frames} is less than one window of the run ({L} frames)")
    units = choose_units(make_units(eval_sessions, L, settings.stream_windows), settings.frames // L, settings.seed)
    if not units:
        raise DatasetError(f"no {split!r} session is longer than one window ({L + 1} frames): nothing to evaluate")
    with Readers(shards) as readers:
        targets = []
        for i, u in enumerate(units):
            targets.append(unit_targets(readers, u, tokenizer, L))
            _tick(progress, "targets", i + 1, len(units))
    unigram, ngram = fit_baselines(baseline_shards or shards, train_sessions, tokenizer, settings, progress)
    streams = [t.targets.reshape(-1) for t in targets]  # one per unit: the baselines' history resets there
    scores = {
        "model": score_model(model, shards, units, targets, settings, chunk_loss, progress),
        "ngram": ngram.score(streams),
        "unigram": unigram.score(streams),
    }
    flat = np.concatenate(streams)  # (N,)
    positions = np.tile(np.arange(L), len(flat) // L)  # (N,): every unit holds whole windows
    classes = class_table(tokenizer.pieces)[flat]  # (N,)
    action_bytes = int(sum(int(t.action_bytes.sum()) for t in targets))
    edges = bucket_edges(L, settings.buckets)
    report: dict[str, Any] = {
        "split": split,
        "sessions": len({(u.ref.shard, u.ref.session) for u in units}),
        "units": len(units),
        "windows": len(flat) // L,
        "frames": len(flat),
        "targets": len(flat),
        "action_bytes": action_bytes,
        "dropped_tokens": sum(t.dropped for t in targets),
        "seed": settings.seed,
        "window": L,
        "position_buckets": [list(e) for e in edges],
        "position_counts": [int(((positions >= a) & (positions < b)).sum()) for a, b in edges],
        "class_counts": {name: int((classes == i).sum()) for i, name in enumerate(CLASSES)},
        "labels": {"model": "model", "ngram": f"{settings.ngram}-gram", "unigram": "unigram"},
        "predictors": {name: summarize(s, positions, classes, action_bytes, edges) for name, s in scores.items()},
        "baselines": {
            "fitted_on": "train",
            "train_sessions": len(train_sessions),
            "train_targets": unigram.tokens,
            "unigram": UNIGRAM_RULE,
            "ngram": NGRAM_RULE.format(n=settings.ngram, m=settings.ngram - 1),
        },
    }
    return EvalResult(report, flat, positions, scores, units)


__all__ = ["ChunkLoss", "EvalResult", "EvalSettings", "Progress", "evaluate", "fit_baselines", "score_model"]
