"""One training step over a window: streaming BPTT with recomputation, or full backprop.

Streaming (the FBAM recipe), for a window of L steps cut into chunks of K:

1. frame head over the window chunk by chunk under ``no_grad``; keep only the frame
   vectors E (L, B, D) (small; in pinned host memory when offloading);
2. integrator forward over the whole window under ``no_grad``, keeping its state at
   the start of every chunk (the checkpoints);
3. backward, chunks in reverse: recompute the integrator chunk from its checkpoint
   with a graph, per-chunk logits + cross-entropy (never L x B x V at once), backprop
   the chunk loss plus the state gradient arriving from the later chunk; this yields
   the gradient w.r.t. the chunk's frame vectors and its start state; then decode the
   chunk's frames again, recompute the frame head with a graph and backprop that
   gradient into its parameters (``torch.autograd.backward`` with ``grad_tensors``).

Live activations are one chunk's graph, so memory is flat in L. Gradients equal full
backprop's (tested in fp64). Dropout is replayed exactly by restoring the RNG state
each chunk had in the forward passes.

The last chunk is the first one step 3 needs: when the frame head takes it in one
micro-batch (``frame_chunk`` 0 or >= the chunk), step 1 runs it with a graph and keeps
that graph instead of recomputing it (the same activations; one chunk's head graph is
what step 3 holds anyway). A window of one chunk thus runs the frame head once forward
and once backward, not twice forward.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from sessionforge.model.embedding import FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.model.integrators import map_state, state_tensors

IGNORE = -100  # target id that contributes no loss


class WindowSource(Protocol):
    """A window of L steps for B streams, readable chunk by chunk (decoded on demand)."""

    length: int

    def frames(self, t0: int, t1: int) -> FrameInputs:
        """Frames [t0, t1) of every stream, (t1-t0, B, R, C) on the CPU."""

    def targets(self) -> torch.Tensor:
        """(L, B) int64 target token ids; valid once frames() has covered [0, L)."""


@dataclass
class StepResult:
    """What one step produced: the mean loss, per-position losses and the end state."""

    loss: float  # mean cross-entropy over the valid targets of the window
    position_loss: torch.Tensor  # (L,) mean over streams of each position's loss (fp64, CPU)
    tokens: int  # number of valid targets
    state: object  # integrator state after the window, detached


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class _Rng:
    """Save/restore the RNG streams a chunk consumed, so recomputation replays dropout.

    Only when the model has dropout: a CPU RNG state is 5 KB, per chunk and pass.
    """

    def __init__(self, device: torch.device, model: FBAM) -> None:
        self.cuda = device.type == "cuda"
        self.active = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()) or (
            getattr(model.cfg.integrator, "dropout", 0.0) > 0
        )

    def get(self) -> tuple | None:
        if not self.active:
            return None
        return (torch.get_rng_state(), torch.cuda.get_rng_state() if self.cuda else None)

    def set(self, st: tuple | None) -> None:
        if st is None:
            return
        torch.set_rng_state(st[0])
        if self.cuda:
            torch.cuda.set_rng_state(st[1])


def _embed(model: FBAM, x: FrameInputs, frame_chunk: int) -> torch.Tensor:
    """Frame head over (T, B) frames in micro-batches of ``frame_chunk`` steps -> (T, B, D)."""
    step = frame_chunk or x.steps
    return torch.cat([model.embed_frames(x.slice(a, min(a + step, x.steps))) for a in range(0, x.steps, step)])


def chunk_loss(model: FBAM, y: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """Per-position losses (K, B) from integrator outputs (K, B, H); at least fp32 softmax."""
    logits = model.logits(y)  # (K, B, V): one chunk only
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # softmax in fp32 under autocast
    K, B, V = logits.shape
    return F.cross_entropy(logits.reshape(K * B, V), tgt.reshape(K * B), ignore_index=IGNORE, reduction="none").view(K, B)


def _position_mean(ce: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    valid = (tgt != IGNORE).sum(dim=1).clamp(min=1)
    return (ce.detach().double().sum(dim=1) / valid).cpu()  # (K,)


def streaming_step(
    model: FBAM,
    window: WindowSource,
    state0: object = None,
    *,
    chunk: int,
    frame_chunk: int = 0,
    device: torch.device | str = "cpu",
    autocast_dtype: torch.dtype | None = None,
    offload: bool = False,
    prefetch: ThreadPoolExecutor | None = None,
) -> StepResult:
    """Accumulate into ``.grad`` the gradient of the window's mean loss; see module doc.

    ``prefetch``: the executor that decodes the next chunk ahead (:func:`prefetcher`);
    pass one that lives as long as training. Without it the step makes and ends its own.
    """
    device = torch.device(device)
    L = window.length
    bounds = [(t, min(t + chunk, L)) for t in range(0, L, chunk)]
    rng = _Rng(device, model)
    amp = _autocast(device, autocast_dtype)

    # The last chunk's frame-head graph is kept from step 1 when it is one micro-batch.
    last_t0, last_t1 = bounds[-1]
    keep_last = frame_chunk == 0 or frame_chunk >= last_t1 - last_t0
    # Chunks are read in a known order (forward, then reverse): decode the next one on a
    # helper thread while this one computes. One read in flight at a time, so a
    # stream's reader is never used by two threads at once.
    order = [*bounds, *reversed(bounds[:-1] if keep_last else bounds)]
    pool = prefetch if prefetch is not None else prefetcher()
    pending: dict[int, Future] = {0: pool.submit(window.frames, *order[0])}
    reads = [0]

    def load(t0: int, t1: int) -> FrameInputs:
        i = reads[0]
        assert order[i] == (t0, t1), "chunks must be read in the prefetch order"
        x = pending.pop(i).result()
        if i + 1 < len(order):
            pending[i + 1] = pool.submit(window.frames, *order[i + 1])
        reads[0] = i + 1
        return x.to(device, non_blocking=True)

    try:
        # 1. frame head, no graph: E (L, B, D) kept per chunk.
        emb: list[torch.Tensor] = []
        head_rng: list[tuple | None] = []
        kept: torch.Tensor | None = None  # the last chunk's frame vectors, with their graph
        for j, (t0, t1) in enumerate(bounds):
            head_rng.append(rng.get())
            if keep_last and j == len(bounds) - 1:
                with amp:
                    kept = model.embed_frames(load(t0, t1))  # (K, B, D), graph kept for step 3
                emb.append(kept.detach())
                continue
            with torch.no_grad(), amp:
                e = _embed(model, load(t0, t1), frame_chunk)  # (K, B, D)
            if offload and device.type == "cuda":
                host = torch.empty(e.shape, dtype=e.dtype, pin_memory=True)
                e = host.copy_(e, non_blocking=True)
            emb.append(e)

        # 2. integrator forward over the whole window, no graph: checkpoint at chunk starts.
        ckpts: list[object] = []
        lstm_rng: list[tuple | None] = []
        state = state0
        with torch.no_grad(), amp:
            for j in range(len(bounds)):
                ckpts.append(state)
                lstm_rng.append(rng.get())
                _, state = model.integrate(emb[j].to(device, non_blocking=True), state)
        end_state = map_state(state, lambda t: t.detach())
        after = rng.get()

        # 3. backward, chunks in reverse.
        targets = window.targets().to(device)  # (L, B)
        n_valid = int((targets != IGNORE).sum())
        denom = max(n_valid, 1)
        position = torch.zeros(L, dtype=torch.float64)
        total = 0.0
        grad_state: list[torch.Tensor] | None = None
        for j in reversed(range(len(bounds))):
            t0, t1 = bounds[j]
            e = emb[j].to(device, non_blocking=True).detach().requires_grad_(True)  # (K, B, D)
            s = map_state(ckpts[j], lambda t: t.detach().requires_grad_(j > 0))
            rng.set(lstm_rng[j])
            with amp:
                y, s_end = model.integrate(e, s)  # (K, B, H)
                ce = chunk_loss(model, y, targets[t0:t1])  # (K, B)
            loss_j = ce.sum() / denom
            outs, grads = [loss_j], [None]
            if grad_state is not None:
                ends = state_tensors(s_end)
                outs += ends
                grads += [g if g is not None else torch.zeros_like(t) for g, t in zip(grad_state, ends)]
            torch.autograd.backward(outs, grads)
            grad_state = [t.grad for t in state_tensors(s)] if j > 0 else None
            total += float(loss_j.detach()) * denom
            position[t0:t1] = _position_mean(ce, targets[t0:t1])
            e_grad = e.grad  # (K, B, D)
            del y, s_end, ce, loss_j, outs, e
            if kept is not None and j == len(bounds) - 1:  # the graph from step 1
                torch.autograd.backward(kept, e_grad.to(kept.dtype))
                kept = None
                continue
            # Recompute the frame head for this chunk with a graph; push e_grad into it.
            rng.set(head_rng[j])
            x = load(t0, t1)
            step = frame_chunk or (t1 - t0)
            for a in range(0, t1 - t0, step):
                b = min(a + step, t1 - t0)
                with amp:
                    out = model.embed_frames(x.slice(a, b))  # (b-a, B, D)
                torch.autograd.backward(out, e_grad[a:b].to(out.dtype))
        rng.set(after)
    finally:
        # On an error, no read may outlive the step: it uses the loader's readers and buffers.
        for f in pending.values():
            f.cancel()
        wait(list(pending.values()))
        if prefetch is None:
            pool.shutdown()
    return StepResult(total / denom, position, n_valid, end_state)


def prefetcher() -> ThreadPoolExecutor:
    """The one-thread executor :func:`streaming_step` reads ahead on; shut it down when training ends."""
    return ThreadPoolExecutor(1, thread_name_prefix="sf-prefetch")


def full_step(
    model: FBAM,
    window: WindowSource,
    state0: object = None,
    *,
    device: torch.device | str = "cpu",
    autocast_dtype: torch.dtype | None = None,
) -> StepResult:
    """Plain backprop over the whole window (the oracle for streaming; short windows only)."""
    device = torch.device(device)
    with _autocast(device, autocast_dtype):
        x = window.frames(0, window.length).to(device)
        y, state = model.integrate(model.embed_frames(x), state0)  # (L, B, H)
        targets = window.targets().to(device)
        ce = chunk_loss(model, y, targets)  # (L, B)
    n_valid = int((targets != IGNORE).sum())
    loss = ce.sum() / max(n_valid, 1)
    loss.backward()
    return StepResult(float(loss.detach()), _position_mean(ce, targets), n_valid, map_state(state, lambda t: t.detach()))
