"""Checkpoints: everything a run needs to continue exactly where it stopped.

``RUN/checkpoints/step_00000100/`` holds ``model.safetensors`` (weights),
``optimizer.pt`` (AdamW state via ``torch.save`` of tensors and numbers, loaded with
``weights_only=True``), ``config.yaml`` (the full run config), ``tokenizer.json``,
and per rank ``rank0.json`` (step, loader position, counters) plus
``rank0.safetensors`` (the carried integrator state and the RNG state). A checkpoint
is written into a temporary folder and renamed when complete, so a folder named
``step_*`` is always whole.

Lineage. ``rank0.json`` records the checkpoint's *lineage*: one entry per invocation of
``train`` that led to it, ``{"id", "from_step"}`` (the step that invocation resumed
from; 0 for the first). Pruning keeps the newest ``keep`` checkpoints of the current
lineage and never touches a checkpoint of another one (a dead branch or a foreign run),
nor the one just written.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file
from torch.utils import _pytree as pytree

from sessionforge.errors import SessionforgeError

PREFIX = "step_"
# Checkpoints written before lineages were recorded count as one anonymous first invocation.
LEGACY_LINEAGE = [{"id": "legacy", "from_step": 0}]


class CheckpointError(SessionforgeError):
    """A checkpoint is missing or does not fit the run."""


@dataclass
class RankState:
    """The per-rank part of a checkpoint."""

    step: int
    info: dict  # loader position, frames seen, elapsed time, ... (JSON)
    carried: object  # integrator state or None
    rng: torch.Tensor | None  # CPU generator state
    rng_cuda: torch.Tensor | None = None  # this rank's CUDA generator state (dropout on a GPU)


def checkpoint_dir(run: Path, step: int) -> Path:
    """``RUN/checkpoints/step_NNNNNNNN``."""
    return Path(run) / "checkpoints" / f"{PREFIX}{step:08d}"


def staging_dir(run: Path, step: int) -> Path:
    """Where a checkpoint is written before being renamed into place."""
    return Path(run) / "checkpoints" / f".tmp-{PREFIX}{step:08d}"


def save_shared(
    stage: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, config: dict, tokenizer: dict
) -> None:
    """Write the parts every rank shares (rank 0 calls this)."""
    stage.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(weights, str(stage / "model.safetensors"))
    torch.save(optimizer.state_dict(), stage / "optimizer.pt")
    (stage / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (stage / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1) + "\n", encoding="utf-8")


def save_rank(stage: Path, rank: int, state: RankState) -> None:
    """Write one rank's loader position, carried state and RNG."""
    stage.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    spec = None
    if state.carried is not None:
        leaves, treespec = pytree.tree_flatten(state.carried)
        spec = pytree.treespec_dumps(treespec)
        tensors.update({f"carried.{i}": t.detach().contiguous().cpu() for i, t in enumerate(leaves)})
    if state.rng is not None:
        tensors["rng"] = state.rng
    if state.rng_cuda is not None:
        tensors["rng_cuda"] = state.rng_cuda
    save_file(tensors, str(stage / f"rank{rank}.safetensors"))
    info = {"step": state.step, "carried_spec": spec, **state.info}
    (stage / f"rank{rank}.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def new_lineage(parent: list[dict] | None = None, from_step: int = 0) -> list[dict]:
    """The lineage of a new invocation: ``parent`` (the resumed checkpoint's) plus a fresh id."""
    return [*(parent or []), {"id": uuid.uuid4().hex[:12], "from_step": int(from_step)}]


def checkpoint_lineage(ckpt: Path) -> list[dict]:
    """The lineage recorded in ``ckpt/rank0.json`` (:data:`LEGACY_LINEAGE` when it has none)."""
    try:
        info = json.loads((Path(ckpt) / "rank0.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{Path(ckpt) / 'rank0.json'}: unreadable ({exc})") from None
    lineage = info.get("lineage") if isinstance(info, dict) else None
    return lineage if isinstance(lineage, list) and lineage else LEGACY_LINEAGE


def step_of(ckpt: Path) -> int:
    """The step in a checkpoint folder's name (``step_00000040`` -> 40)."""
    return int(Path(ckpt).name[len(PREFIX):])


def in_lineage(lineage: list[dict], step: int, current: list[dict]) -> bool:
    """Whether a checkpoint at ``step`` written with ``lineage`` is an ancestor of (or written
    by) the invocation whose lineage is ``current``.

    It is when its lineage is a prefix of ``current`` and, if a later invocation resumed from
    its invocation, it is not newer than the step that later invocation resumed from.
    """
    n = len(lineage)
    if n == 0 or n > len(current) or list(current[:n]) != list(lineage):
        return False
    return n == len(current) or step <= int(current[n]["from_step"])


def finalize(run: Path, step: int, keep: int, lineage: list[dict]) -> Path:
    """Rename the staged checkpoint into place, then delete the oldest checkpoints of ``lineage``
    beyond the newest ``keep`` (0 keeps all). Checkpoints of other lineages are never deleted,
    and neither is the one this call put in place."""
    final = checkpoint_dir(run, step)
    if final.exists():
        shutil.rmtree(final)  # a dead branch's checkpoint of the same step: this one replaces it
    staging_dir(run, step).rename(final)
    if keep > 0:
        ours = [p for p in list_checkpoints(run) if in_lineage(checkpoint_lineage(p), step_of(p), lineage)]
        ours.sort(key=step_of)
        for old in ours[:-keep]:
            if old != final:
                shutil.rmtree(old)
    return final


def list_checkpoints(run: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / "rank0.json").is_file())


def latest_checkpoint(run: Path) -> Path:
    """The newest complete checkpoint, or a CheckpointError."""
    found = list_checkpoints(run)
    if not found:
        raise CheckpointError(f"{run}: no checkpoint to resume from (looked in {Path(run) / 'checkpoints'})")
    return found[-1]


def load_model(ckpt: Path, model: torch.nn.Module) -> None:
    """Load weights into ``model`` (shapes must match the run's config)."""
    try:
        weights = load_file(str(ckpt / "model.safetensors"))
        model.load_state_dict(weights)
    except (OSError, RuntimeError) as exc:
        raise CheckpointError(f"{ckpt / 'model.safetensors'}: cannot load weights: {exc}") from None


def load_optimizer(ckpt: Path, optimizer: torch.optim.Optimizer) -> None:
    """Restore AdamW state (tensors and numbers only: ``weights_only=True``)."""
    state = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state)


def load_rank(ckpt: Path, rank: int, device: torch.device) -> RankState:
    """Read one rank's state back."""
    path = ckpt / f"rank{rank}.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (was the run saved with a different number of ranks?)")
    info = json.loads(path.read_text(encoding="utf-8"))
    tensors = load_file(str(ckpt / f"rank{rank}.safetensors"))
    carried = None
    spec = info.pop("carried_spec", None)
    if spec is not None:
        treespec = pytree.treespec_loads(spec)
        leaves = [tensors[f"carried.{i}"].to(device) for i in range(treespec.num_leaves)]
        carried = pytree.tree_unflatten(leaves, treespec)
    return RankState(int(info.pop("step")), info, carried, tensors.get("rng"), tensors.get("rng_cuda"))
