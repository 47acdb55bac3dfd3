"""The training loop behind ``sessionforge train``.

Checks first, before anything is written (:func:`_preflight`): the run folder
(:mod:`~sessionforge.train.run`), a resumed config against the saved one, the data
(:mod:`~sessionforge.train.data`: intact, and sessions in ``train.split``, and val sessions
when validating). Then setup (device, precision, DDP from torchrun's env vars, tokenizer,
model, optimizer (:mod:`~sessionforge.train.optim`), loader), optional resume from the
newest checkpoint, then steps: next window -> streaming (or full) BPTT step -> gradient
all-reduce across ranks -> clip -> optimizer step with warmup + cosine LR -> metrics,
validation (:mod:`~sessionforge.train.validate`) / checkpoints. DDP is done
by hand (broadcast the initial weights, all-reduce the gradients) because the streaming
step calls the model's parts separately, many times per step, which
``DistributedDataParallel``'s forward hooks do not expect.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist
import yaml

from sessionforge.config import to_dict
from sessionforge.errors import ConfigError, SessionforgeError
from sessionforge.files import write_atomic
from sessionforge.model.fbam import FBAM, count_parameters
from sessionforge.model.integrators import map_state, state_tensors
from sessionforge.model.tokenizer import ActionTokenizer, build_tokenizer
from sessionforge.train import checkpoint as ckpt
from sessionforge.train.bptt import StepResult, full_step, prefetcher, streaming_step
from sessionforge.train.config import TrainConfig
from sessionforge.train.data import check_training_data, data_items, training_sessions, validation_sessions
from sessionforge.train.loader import StreamLoader
from sessionforge.train.metrics import MetricsWriter, bucket_means, peak_memory_bytes
from sessionforge.train.optim import build_optimizer
from sessionforge.train.run import prepare_run_folder, require_same_config, saved_config, trim_metrics
from sessionforge.train.summary import TrainResult
from sessionforge.train.validate import Validation, overlap
from sessionforge.dataset import ShardSet

__all__ = ["TrainResult", "lr_at", "train"]

# Backbones whose state is fixed-size and batch-first, so it can be carried across windows.
CARRYABLE = ("lstm", "linear-rnn")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup for ``optim.warmup`` steps, then cosine down to ``min_lr_ratio * lr`` at the last step."""
    o, total = cfg.optim, cfg.train.steps
    if o.warmup > 0 and step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    span = max(1, total - o.warmup)
    progress = min(1.0, (step - o.warmup) / span)
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def _dist_setup(cfg: TrainConfig) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    want = cfg.train.device
    cuda = torch.cuda.is_available() and want != "cpu"
    if want == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA device is available")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _precision(cfg: TrainConfig, device: torch.device) -> tuple[torch.dtype, torch.dtype | None]:
    """(parameter dtype, autocast dtype)."""
    p = cfg.train.precision
    if p == "fp64":
        return torch.float64, None
    if p == "bf16" or (p == "auto" and device.type == "cuda"):
        return torch.float32, torch.bfloat16
    return torch.float32, None


def _pin_tokenizer(cfg: TrainConfig, resume: bool) -> None:
    """Make ``tokenizer.path`` absolute and ``tokenizer.vocab`` that file's vocabulary size, so
    config.yaml records the tokenizer used (not the default size) and a resume from another
    folder names the same file. A built tokenizer keeps ``vocab`` as the size it was built with."""
    if cfg.tokenizer.path:
        path = Path(cfg.tokenizer.path).resolve()
        cfg.tokenizer.path = str(path)
        # A resume trains with its checkpoint's copy: the file may have gone since.
        if not resume or path.is_file():
            cfg.tokenizer.vocab = ActionTokenizer.load(path).vocab_size


def _tokenizer(cfg: TrainConfig, shards: ShardSet, found: Path | None) -> ActionTokenizer:
    """The resumed checkpoint's tokenizer, else ``tokenizer.path``, else one built from the data."""
    if found is not None:
        return ActionTokenizer.load(found / "tokenizer.json")
    if cfg.tokenizer.path:
        return ActionTokenizer.load(cfg.tokenizer.path)
    return build_tokenizer(shards.action_streams(cfg.tokenizer.max_bytes), cfg.tokenizer.vocab)


def _reset_state(state: object, reset: torch.Tensor) -> object:
    """Zero the carried state of the streams that start a new unit (batch is dim 0 of every leaf)."""
    if state is None:
        return None
    keep = (~reset).to(state_tensors(state)[0].device)
    return map_state(state, lambda t: t * keep.view(-1, *([1] * (t.dim() - 1))).to(t.dtype))


def train(
    cfg: TrainConfig,
    data: str | Path | Sequence[str | Path],
    run: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    verify: bool = True,
    val_data: str | Path | Sequence[str | Path] | None = None,
    on_step: Callable[[int, float], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train for ``cfg.train.steps`` steps (total, counting resumed ones); see the module doc.

    ``run`` must not hold a run already unless ``resume`` (continue it: the config must equal
    the saved one but for :data:`~sessionforge.train.run.SAFE_ON_RESUME`) or ``overwrite``
    (delete it first). Dataset folders in ``data`` (and ``val_data``) must be finished
    datasets whose shards match ``dataset.json`` (``verify=False``: sizes only, no sha256).
    The sessions of ``cfg.train.split`` are trained on; validation (``train.eval_every``)
    scores the val sessions of ``val_data``, else of ``data``.
    """
    run = Path(run)
    cfg = copy.deepcopy(cfg)  # the tokenizer section is pinned below; the caller's object stays as given
    _pin_tokenizer(cfg, resume)
    rank, world, device = _dist_setup(cfg)
    tc = cfg.train
    validating = tc.eval_every > 0 and rank == 0
    # Everything that can refuse the run happens here, before anything is written into it.
    _rank0_first(rank, world, lambda: _preflight(cfg, data, run, resume=resume, overwrite=overwrite, verify=verify,
                                                 val_data=val_data))
    found = ckpt.latest_checkpoint(run) if resume else None
    if tc.threads > 0:
        torch.set_num_threads(tc.threads)
    param_dtype, amp = _precision(cfg, device)
    offload = device.type == "cuda" and tc.offload != "off"  # pinned host memory only helps a GPU
    shards = training_sessions(data, tc.split)
    shards.check_frame_size(cfg.model.rows, cfg.model.cols)
    val_shards = validation_sessions(val_data if val_data is not None else data, val_data is not None) \
        if validating else None
    if val_shards is not None:
        val_shards.check_frame_size(cfg.model.rows, cfg.model.cols)
    run.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(cfg, shards, found)
    torch.manual_seed(tc.seed)
    model = FBAM(cfg.model, tok.vocab_size).to(device=device, dtype=param_dtype)
    if world > 1:
        for p in model.parameters():
            dist.broadcast(p.data, 0)
    optimizer = build_optimizer(model, cfg.optim)
    loader = StreamLoader(
        shards, tok, window=tc.window, batch=tc.batch, stream_windows=tc.stream_windows,
        seed=tc.seed, rank=rank, world=world, workers=tc.workers,
    )
    result = TrainResult(parameters=count_parameters(model), run=run, total_steps=tc.steps)
    validation = None if val_shards is None else Validation(
        val_shards, tok, window=tc.window, count=tc.eval_windows, batch=tc.batch, chunk=tc.chunk,
        frame_chunk=tc.frame_chunk)
    in_sample = val_shards is not None and overlap(shards, val_shards)  # e.g. --split all with val of --data
    carry = tc.carry_state and cfg.model.integrator.kind in CARRYABLE
    carried: object = None
    step, frames, elapsed = 0, 0, 0.0
    if found is not None:
        ckpt.load_model(found, model)
        ckpt.load_optimizer(found, optimizer)
        rs = ckpt.load_rank(found, rank, device)
        step, carried = rs.step, rs.carried
        frames, elapsed = int(rs.info.get("frames", 0)), float(rs.info.get("elapsed_s", 0.0))
        loader.load_state_dict(rs.info["loader"])
        if rs.rng is not None:
            torch.set_rng_state(rs.rng)
        if rs.rng_cuda is not None and device.type == "cuda":
            torch.cuda.set_rng_state(rs.rng_cuda)
    lineage = ckpt.new_lineage(ckpt.checkpoint_lineage(found) if found is not None else None, step)
    if world > 1:  # one invocation id for all ranks: rank 0's
        box = [lineage]
        dist.broadcast_object_list(box, src=0)
        lineage = box[0]
    if rank == 0:
        write_atomic(run / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False).encode())
        write_atomic(run / "tokenizer.json", (json.dumps(tok.to_dict(), indent=1) + "\n").encode())
        if found is not None:
            trim_metrics(run, step)  # records past the checkpoint belong to steps about to be redone
    metrics = MetricsWriter(run, tc.tensorboard) if rank == 0 else None
    if on_start is not None:
        on_start(step, tc.steps)
    result.start_step, frames0, t0 = step, frames, time.perf_counter()
    pending: list[StepResult] = []
    t_log, frames_log = time.perf_counter(), frames
    start_time = time.perf_counter() - elapsed
    prefetch = prefetcher() if tc.mode == "streaming" else None  # one read-ahead thread for the whole run
    try:
        while step < tc.steps:
            window = loader.next_window()
            state0 = _reset_state(carried, window.reset) if carry else None
            lr = lr_at(step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            if tc.mode == "streaming":
                res = streaming_step(model, window, state0, chunk=tc.chunk, frame_chunk=tc.frame_chunk,
                                     device=device, autocast_dtype=amp, offload=offload, prefetch=prefetch)
            else:
                res = full_step(model, window, state0, device=device, autocast_dtype=amp)
            if world > 1:
                for p in model.parameters():
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad /= world
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip) if tc.grad_clip > 0 else None
            optimizer.step()
            carried = res.state if carry else None
            if world > 1:  # log the loss of the whole global batch, not rank 0's share
                tot = torch.tensor([res.loss * res.tokens, float(res.tokens)], dtype=torch.float64, device=device)
                dist.all_reduce(tot)
                res.loss, res.tokens = float(tot[0] / tot[1].clamp(min=1)), int(tot[1])
            step += 1
            frames += tc.window * tc.batch * world
            result.losses.append(res.loss)
            pending.append(res)
            if on_step is not None:
                on_step(step, res.loss)
            if metrics is not None and (step % tc.log_every == 0 or step == tc.steps):
                now = time.perf_counter()
                record = _record(step, pending, frames, now - start_time, lr, tc.window, tc.position_buckets,
                                 (frames - frames_log) / max(now - t_log, 1e-9), device, gnorm, loader)
                metrics.write(record)
                result.logged.append((step, record["loss"]))
                pending, t_log, frames_log = [], now, frames
            # Rank 0 validates; under DDP the other ranks wait for it at the next all-reduce.
            if validation is not None and metrics is not None and (step % tc.eval_every == 0 or step == tc.steps):
                t_val = time.perf_counter()
                val = validation.run(model, device, amp)
                record = {"step": step, "val_loss": val.loss, "val_tokens": val.tokens, "val_windows": val.windows,
                          "val_loss_by_position": bucket_means(val.position_loss, tc.position_buckets),
                          "val_in_sample": in_sample, "frames": frames, "elapsed_s": round(t_val - start_time, 3),
                          "val_seconds": round(time.perf_counter() - t_val, 3)}
                metrics.write(record)
                result.val_loss = (step, val.loss)
                # Validation time is not training time: elapsed_s and frames/s leave it out.
                spent = time.perf_counter() - t_val
                start_time, t_log, t0 = start_time + spent, t_log + spent, t0 + spent
            if step % tc.checkpoint_every == 0 or step == tc.steps:
                _save(run, step, cfg, model, optimizer, tok, loader, carried, frames,
                      time.perf_counter() - start_time, rank, world, lineage)
    finally:
        if prefetch is not None:
            prefetch.shutdown()
        loader.close()
        if metrics is not None:
            metrics.close()
    result.step, result.frames, result.seconds = step, frames - frames0, time.perf_counter() - t0
    return result


def _preflight(cfg: TrainConfig, data: str | Path | Sequence[str | Path], run: Path, *, resume: bool,
               overwrite: bool, verify: bool, val_data: str | Path | Sequence[str | Path] | None = None) -> None:
    """The checks that may refuse a run (rank 0): the run folder, the resumed config, the data
    (and the validation data: checked with it, its digests remembered after the data's)."""
    prepare_run_folder(run, resume=resume, overwrite=overwrite)
    if resume:
        found = ckpt.latest_checkpoint(run)
        require_same_config(saved_config(found, TrainConfig), to_dict(cfg), found)
    items = data_items(data)
    extra = [v for v in data_items(val_data)] if val_data is not None and cfg.train.eval_every > 0 else []
    checked = [*items, *(v for v in extra if v not in items)]
    check_training_data(checked, run, verify=False)  # finished, every shard its recorded size: writes nothing
    # Sessions to train and to validate on, before the sha256 digests are remembered in the run folder.
    training_sessions(data, cfg.train.split)
    if cfg.train.eval_every > 0:
        validation_sessions(val_data if val_data is not None else data, val_data is not None)
    if verify:
        check_training_data(checked, run, verify=True)


def _rank0_first(rank: int, world: int, fn: Callable[[], None]) -> None:
    """Run ``fn`` on rank 0 only; if it refuses, every rank raises (none waits for a rank that quit)."""
    error: SessionforgeError | None = None
    if rank == 0:
        try:
            fn()
        except SessionforgeError as exc:
            if world == 1:
                raise
            error = exc
    if world > 1:
        box = [None if error is None else str(error)]
        dist.broadcast_object_list(box, src=0)
        if error is not None:
            raise error
        if box[0] is not None:
            raise SessionforgeError(box[0])


def _record(step: int, pending: list[StepResult], frames: int, elapsed: float, lr: float, window: int,
            buckets: int, fps: float, device: torch.device, gnorm: torch.Tensor | None,
            loader: StreamLoader) -> dict:
    tokens = sum(r.tokens for r in pending)
    loss = sum(r.loss * r.tokens for r in pending) / max(tokens, 1)
    position = torch.stack([r.position_loss for r in pending]).mean(dim=0)  # (L,)
    return {
        "step": step, "loss": loss, "frames": frames, "elapsed_s": round(elapsed, 3), "lr": lr,
        "window": window, "loss_by_position": bucket_means(position, buckets),
        "frames_per_s": round(fps, 2), "peak_memory_bytes": peak_memory_bytes(device),
        "grad_norm": float(gnorm) if gnorm is not None else None, "dropped_tokens": loader.dropped_tokens,
    }


def _save(run: Path, step: int, cfg: TrainConfig, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
          tok: ActionTokenizer, loader: StreamLoader, carried: object, frames: int, elapsed: float,
          rank: int, world: int, lineage: list[dict]) -> None:
    stage = ckpt.staging_dir(run, step)
    if rank == 0:
        ckpt.save_shared(stage, model, optimizer, to_dict(cfg), tok.to_dict())
    info = {"loader": loader.state_dict(), "frames": frames, "elapsed_s": elapsed, "world": world,
            "lineage": lineage}
    cuda_rng = torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    ckpt.save_rank(stage, rank, ckpt.RankState(step, info, carried, torch.get_rng_state(), cuda_rng))
    if world > 1:
        dist.barrier()
    if rank == 0:
        ckpt.finalize(run, step, cfg.train.keep_checkpoints, lineage)
