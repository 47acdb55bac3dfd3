"""Train each backbone on a synthetic task for a fixed step budget; measure accuracy vs n.

For every stream size n and every backbone the runner builds a small sequence
classifier (token embedding -> backbone -> linear head), trains it on fresh
sequences of size n for ``steps`` optimiser steps, and scores per-step accuracy on
``eval_sequences`` held-out sequences (another seed). All backbones go through the
same door as inside FBAM: :func:`sessionforge.model.integrators.build_integrator`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sessionforge.model.config import IntegratorConfig
from sessionforge.model.integrators import REGISTRY, build_integrator
from sessionforge.tasks.common import IGNORE, Task, TaskError
from sessionforge.tasks.frjt import FRJTask, FRJTConfig
from sessionforge.tasks.maze import MazeConfig, MazeTask

# The backbones are the integrator registry's kinds: a new integrator is benchmarkable at once.
BACKBONES = tuple(REGISTRY)
# Task name -> generator, keyed by each task's own ``name`` (also its RecurrenceConfig section).
TASKS: dict[str, type[FRJTask] | type[MazeTask]] = {cls.name: cls for cls in (FRJTask, MazeTask)}


@dataclass
class RecurrenceConfig:
    """Everything one ``sessionforge bench recurrence`` run does (saved into its JSON)."""

    task: str = "frjt"
    n: list[int] = field(default_factory=lambda: [16, 64, 256])
    backbones: list[str] = field(default_factory=lambda: list(BACKBONES))
    layers: list[int] = field(default_factory=lambda: [1])  # one value for all, or one per backbone
    # defaults = the CPU table in bench/README.md (minutes on a laptop CPU)
    hidden: int = 64
    heads: int = 4
    steps: int = 250
    batch: int = 32
    lr: float = 1e-2
    eval_sequences: int = 128
    seed: int = 0
    device: str = "cpu"
    lstm_impl: str = "auto"
    frjt: FRJTConfig = field(default_factory=FRJTConfig)
    maze: MazeConfig = field(default_factory=MazeConfig)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r} (choose {' or '.join(TASKS)})")
        unknown = [b for b in self.backbones if b not in BACKBONES]
        if unknown or not self.backbones:
            raise ValueError(f"unknown backbone {unknown[0] if unknown else '(none)'!r} "
                             f"(choose from {', '.join(BACKBONES)})")
        if len(self.layers) not in (1, len(self.backbones)):
            raise ValueError(f"give one --layers value or one per backbone ({len(self.backbones)}), "
                             f"got {len(self.layers)}")
        if not self.n or min(self.n) < 1 or min(self.layers) < 1:
            raise ValueError("n and layers must be >= 1")
        if self.steps < 1 or self.batch < 1 or self.eval_sequences < 1 or self.hidden < 1:
            raise ValueError("steps, batch, eval_sequences and hidden must be >= 1")

    def layers_of(self, backbone: str) -> int:
        """Depth used for ``backbone``."""
        return self.layers[0] if len(self.layers) == 1 else self.layers[self.backbones.index(backbone)]


@dataclass
class Result:
    """One (backbone, n) cell of the table."""

    task: str
    backbone: str
    layers: int
    n: int
    accuracy: float  # per scored step, held-out sequences
    seq_accuracy: float  # fraction of held-out sequences with every step right
    majority: float  # accuracy of always predicting the most frequent class
    final_loss: float  # mean training loss over the last 10% of steps
    params: int
    steps: int
    train_seconds: float


def make_task(cfg: RecurrenceConfig) -> Task:
    """The task generator named by ``cfg.task``, built from the config section of the same name."""
    cls = TASKS[cfg.task]
    return cls(getattr(cfg, cls.name))


class SequenceClassifier(nn.Module):
    """Token embedding -> backbone (through the integrator registry) -> per-step class logits."""

    def __init__(self, vocab: int, classes: int, cfg: IntegratorConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, cfg.hidden)
        self.backbone = build_integrator(cfg.hidden, cfg)
        self.head = nn.Linear(cfg.hidden, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (T, B) int64 -> logits (T, B, classes)."""
        y, _ = self.backbone(self.embed(tokens))  # (T, B, H)
        return self.head(y)


def _to_device(batch_array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch_array.T)).to(device)  # (N, T) -> (T, N)


def train_one(task: Task, n: int, backbone: str, cfg: RecurrenceConfig,
              on_step: Callable[[int, float], None] | None = None) -> Result:
    """Train ``backbone`` on ``task`` streams of size ``n`` and score it on held-out streams."""
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TaskError("--device cuda given but CUDA is not available here")
    torch.manual_seed(cfg.seed)
    icfg = IntegratorConfig(kind=backbone, hidden=cfg.hidden, layers=cfg.layers_of(backbone),
                            heads=cfg.heads, lstm_impl=cfg.lstm_impl)
    try:
        model = SequenceClassifier(task.vocab_size, task.num_classes, icfg).to(device)
    except ValueError as exc:  # e.g. hidden not divisible by heads
        raise TaskError(f"{backbone}: {exc}") from None
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, cfg.steps // 20)
    # linear warm-up, then cosine decay to 10%: stable for all three backbones
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * (
        0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps)))))
    # every backbone sees the same training and evaluation streams for a given (seed, n)
    rng = np.random.default_rng([cfg.seed, n, 0])
    losses = []
    start = time.perf_counter()
    model.train()
    for step in range(cfg.steps):
        batch = task.sample(n, cfg.batch, rng)
        tokens, targets = _to_device(batch.tokens, device), _to_device(batch.targets, device)
        logits = model(tokens)  # (T, B, C)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    seconds = time.perf_counter() - start
    acc, seq_acc, majority = score_held_out(model, task, n, cfg, device)
    tail = losses[-max(1, len(losses) // 10):]
    return Result(task=task.name, backbone=backbone, layers=icfg.layers, n=n, accuracy=acc,
                  seq_accuracy=seq_acc, majority=majority, final_loss=float(np.mean(tail)),
                  params=sum(p.numel() for p in model.parameters()), steps=cfg.steps,
                  train_seconds=seconds)


@torch.no_grad()
def score_held_out(model: nn.Module, task: Task, n: int, cfg: RecurrenceConfig,
             device: torch.device) -> tuple[float, float, float]:
    """(per-step accuracy, whole-sequence accuracy, majority-class accuracy) on held-out streams."""
    model.eval()
    rng = np.random.default_rng([cfg.seed, n, 1])
    right = scored = seq_right = 0
    counts = np.zeros(task.num_classes, dtype=np.int64)
    left = cfg.eval_sequences
    while left > 0:
        batch = task.sample(n, min(cfg.batch, left), rng)
        left -= batch.tokens.shape[0]
        tokens, targets = _to_device(batch.tokens, device), _to_device(batch.targets, device)
        pred = model(tokens).argmax(-1)  # (T, B)
        mask = targets != IGNORE
        ok = (pred == targets) | ~mask
        right += int((ok & mask).sum())
        scored += int(mask.sum())
        seq_right += int(ok.all(dim=0).sum())
        counts += np.bincount(batch.targets[batch.targets != IGNORE], minlength=task.num_classes)
    model.train()
    return right / scored, seq_right / cfg.eval_sequences, float(counts.max() / counts.sum())


def run_benchmark(cfg: RecurrenceConfig, progress: Callable[[str, int, float], None] | None = None
                  ) -> list[Result]:
    """All (n, backbone) cells, smallest n first. ``progress(label, step, loss)`` after every step."""
    task = make_task(cfg)
    results = []
    for n in sorted(cfg.n):
        for backbone in cfg.backbones:
            label = f"{backbone} n={n}"
            hook = None if progress is None else (lambda s, l, label=label: progress(label, s, l))
            results.append(train_one(task, n, backbone, cfg, hook))
    return results
