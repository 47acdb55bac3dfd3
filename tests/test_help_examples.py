"""Every config key shown as an example (``--set a.b=...``, ``a.b=VALUE``) in help texts, error
hints and the README exists in the config it is meant for."""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
import types
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A dotted key followed by "=" and a value (not "==", not an attribute assignment "a.b = c").
KEY_EXAMPLE = re.compile(r"(?<![\w.])([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)=(?!=)\S")


def _config(name: str) -> type:
    if name == "train":
        from sessionforge.train.config import TrainConfig
        return TrainConfig
    if name == "build":
        from sessionforge.pipeline.config import BuildConfig
        return BuildConfig
    if name == "replay":
        from sessionforge.replay.config import ReplayConfig
        return ReplayConfig
    from sessionforge.tasks.runner import RecurrenceConfig
    return RecurrenceConfig


def _sources() -> list[tuple[Path, str]]:
    """(file, config its examples are for): the help texts and hints of each verb, and the README."""
    files = [(p, {"build_dataset": "build", "replay": "replay", "bench": "bench"}.get(p.stem, "train"))
             for p in sorted((ROOT / "sessionforge" / "commands").glob("*.py"))]
    files += [(p, "train") for p in sorted((ROOT / "sessionforge" / "train").glob("*.py"))]
    files.append((ROOT / "sessionforge" / "dataset" / "sessions.py", "train"))
    return files


def _python_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal (help texts, messages, docstrings) in a Python file."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            out.append((tok.start[0], tok.string))
    return out


def _readme_lines() -> list[tuple[int, str, str]]:
    """(line, text, config) of the README; a line's config follows the verb it shows, else the section's."""
    out, section = [], "train"
    for n, line in enumerate((ROOT / "README.md").read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            section = "build" if "dataset" in line.lower() or "ray" in line.lower() else "train"
        verb = ("build" if "build-dataset" in line or "--split-ratio" in line else "bench" if "bench recurrence" in line
                else "train" if "sessionforge train" in line else section)
        out.append((n, line, verb))
    return out


def examples() -> list[tuple[str, str, str]]:
    """(where, key, config name) for every key example found."""
    found = []
    for path, cfg in _sources():
        for line, text in _python_strings(path):
            # A hint that shows a build-dataset command is about the build's keys, wherever it is.
            here = "build" if "build-dataset" in text else cfg
            for m in KEY_EXAMPLE.finditer(text):
                found.append((f"{path.relative_to(ROOT)}:{line}", m.group(1), here))
    for line, text, cfg in _readme_lines():
        for m in KEY_EXAMPLE.finditer(text):
            found.append((f"README.md:{line}", m.group(1), cfg))
    return found


def _resolves(cls: type, key: str) -> bool:
    node: object = cls
    for part in key.split("."):
        if not (isinstance(node, type) and dataclasses.is_dataclass(node)):
            return False
        fields = {f.name for f in dataclasses.fields(node)}
        if part not in fields:
            return False
        node = typing.get_type_hints(node)[part]
        if typing.get_origin(node) in (typing.Union, types.UnionType):  # Optional[SubConfig]
            node = next((a for a in typing.get_args(node) if dataclasses.is_dataclass(a)), node)
    return True


def test_the_scan_finds_the_known_examples():
    keys = {(key, cfg) for _, key, cfg in examples()}
    # One from each kind of place, so a broken scan cannot pass by finding nothing.
    for want in [("train.window", "train"), ("model.rows", "train"), ("train.steps", "train"),
                 ("model.integrator.kind", "train"), ("replay.rows", "build"), ("frjt.k_max", "bench")]:
        assert want in keys, want


@pytest.mark.parametrize("where,key,cfg", examples(), ids=lambda v: str(v))
def test_every_example_key_exists(where, key, cfg):
    assert _resolves(_config(cfg), key), f"{where}: example key {key!r} is not a key of {_config(cfg).__name__}"
