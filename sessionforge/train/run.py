"""The run folder: one training run per ``--out``, and what a resume may change.

A run folder holds ``config.yaml``, ``tokenizer.json``, ``metrics.jsonl``,
``checkpoints/`` (and ``tensorboard/``, ``dataset-check.json``). Training into a folder
that already holds a run is refused unless the caller resumes it or asks to overwrite
it, so two runs never mix their metrics, configs and checkpoints. A resume must use the
saved config except for the keys in :data:`SAFE_ON_RESUME`: they change how long the run
goes on and what it records, never what it computes at a given step.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from sessionforge.config import flatten, from_dict, to_dict
from sessionforge.errors import ConfigError, SessionforgeError
from sessionforge.files import write_atomic

# Entries whose presence means the folder holds a run.
RUN_MARKERS = ("config.yaml", "tokenizer.json", "metrics.jsonl", "checkpoints")
# Everything train writes into a run folder: what --overwrite removes (nothing else is touched;
# dataset-check-K.json: the digests of the K-th dataset folder after the first).
RUN_ENTRIES = (*RUN_MARKERS, "tensorboard", "dataset-check.json")
CHECK_MEMOS = "dataset-check-*.json"

# Config keys a resume may change: the step count, logging, checkpoint and validation
# cadence (validation reads, never trains). Every other key (model, data split and windows,
# seed, precision, optimizer, tokenizer, ...) must equal the run's, or the resumed steps
# would not continue the saved ones.
SAFE_ON_RESUME = (
    "train.steps",
    "train.log_every",
    "train.tensorboard",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.eval_every",
    "train.eval_windows",
)


class RunFolderError(SessionforgeError):
    """The run folder cannot be used as asked (holds another run, or a different config)."""


def run_contents(run: Path) -> list[str]:
    """The run markers present in ``run`` (an empty ``checkpoints/`` does not count)."""
    run = Path(run)
    found = []
    for name in RUN_MARKERS:
        p = run / name
        if p.is_dir() and any(p.iterdir()) or p.is_file():
            found.append(name + ("/" if p.is_dir() else ""))
    return found


def prepare_run_folder(run: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse a folder that holds a run unless ``resume`` or ``overwrite``; on ``overwrite``
    delete the old run's entries (:data:`RUN_ENTRIES`, nothing else). Writes nothing otherwise."""
    run = Path(run)
    if resume and overwrite:
        raise RunFolderError("--resume continues the run in --out and --overwrite deletes it: give one of them")
    if run.exists() and not run.is_dir():
        raise RunFolderError(f"{run}: not a folder")
    found = run_contents(run)
    if found and not resume and not overwrite:
        raise RunFolderError(
            f"{run}: already holds a training run ({', '.join(found)}); add --resume to continue it, "
            "--overwrite to delete it and start over, or choose another --out"
        )
    if overwrite:
        memos = [p.name for p in run.glob(CHECK_MEMOS) if p.name[len("dataset-check-"):-len(".json")].isdigit()]
        for name in (*RUN_ENTRIES, *memos):
            p = run / name
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def resume_differences(saved: dict, now: dict, safe: tuple[str, ...] = SAFE_ON_RESUME) -> list[str]:
    """``"key: SAVED saved, NOW now"`` for every key that differs, other than ``safe`` ones."""
    a, b = flatten(saved), flatten(now)
    out = []
    for key in sorted(set(a) | set(b)):
        if key in safe:
            continue
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        if va != vb:
            out.append(f"{key}: {_show(va)} saved, {_show(vb)} now")
    return out


def saved_config(ckpt: Path, cls: type) -> dict:
    """A checkpoint's ``config.yaml`` as a plain dict, with defaults filled in for keys added
    since it was written (so that a newer version can resume an older run)."""
    path = Path(ckpt) / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RunFolderError(f"{path}: cannot read the run's config ({exc})") from None
    try:
        return to_dict(from_dict(cls, raw, source=str(path)))
    except ConfigError:
        return raw if isinstance(raw, dict) else {}  # compare as written: the differences name the keys


def require_same_config(saved: dict, now: dict, ckpt: Path) -> None:
    """Raise :class:`RunFolderError` naming every differing key unless ``now`` equals ``saved``
    except for :data:`SAFE_ON_RESUME` keys."""
    diffs = resume_differences(saved, now)
    if diffs:
        raise RunFolderError(
            f"{ckpt}: --resume with a config that differs from the run's: {'; '.join(diffs)} "
            f"(a resume may change only {', '.join(SAFE_ON_RESUME)}; "
            "start a new run with another --out or --overwrite)"
        )


def trim_metrics(run: Path, step: int) -> int:
    """Drop the ``metrics.jsonl`` records after ``step`` (logged by an invocation that stopped
    after the checkpoint a resume starts from: the resumed run logs those steps again).
    Returns how many were dropped."""
    path = Path(run) / "metrics.jsonl"
    if not path.is_file():
        return 0
    keep, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec_step = json.loads(line).get("step")
        except (ValueError, AttributeError):
            rec_step = None  # an unreadable line (a write cut by a crash): not a step record
        if isinstance(rec_step, int) and rec_step <= step:
            keep.append(line)
        else:
            dropped += 1
    if dropped:
        write_atomic(path, "".join(line + "\n" for line in keep).encode())
    return dropped
