"""The build configuration: what to replay (``replay``), how to store it, how to run it.

``BuildConfig`` is loaded with :func:`sessionforge.config.load_config`, so a YAML/TOML
file and ``--set key=value`` overrides work as everywhere else. Only the *output*
part of the config (everything but ``run``) decides what the dataset contains; the
``run`` part (executor, workers, time limit, clone cache) may change between a killed
build and its resumption without changing a single byte of the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sessionforge.config import to_dict
from sessionforge.errors import ConfigError
from sessionforge.replay import ReplayConfig


@dataclass
class FilterConfig:
    """Filters on manifest metadata; a repository without the field passes no filter on it."""

    license: list[str] = field(default_factory=list)   # keep only these licenses (case-insensitive)
    language: list[str] = field(default_factory=list)  # keep only these languages (case-insensitive)
    min_stars: int | None = None


@dataclass
class SplitConfig:
    """Shares of repositories held out for validation and test; the rest is ``train``.

    A repository's split is a pure function of its root commit (see
    :mod:`sessionforge.dataset.splits`), so forks and mirrors of one history share it, and
    adding repositories to a build never moves another one.
    """

    val: float = 0.05
    test: float = 0.05

    def __post_init__(self) -> None:
        if not (0 <= self.val <= 1 and 0 <= self.test <= 1 and self.val + self.test <= 1):
            raise ValueError(f"split shares val={self.val}, test={self.test}: each in [0, 1], together <= 1")


@dataclass
class ExecutionConfig:
    """How the build runs. Not part of the dataset's identity: a resumed build may change it."""

    executor: Literal["local", "process", "ray"] | None = None  # None: local for one repo, else process
    workers: int | None = None         # None: os.cpu_count()
    ray_address: str | None = None     # None: a local Ray started for this build; "auto": the cluster
    timeout: float | None = None       # seconds per job (one repository slice); None: no limit
    retries: int = 2                   # extra attempts for a job whose worker died
    cache_dir: str | None = None       # where URLs are cloned; None: OUT/.cache/repos


@dataclass
class BuildConfig:
    """Everything ``build-dataset`` needs besides the inputs and the output folder."""

    replay: ReplayConfig = field(default_factory=ReplayConfig)
    codec: Literal["xz", "zstd"] = "xz"
    shard_size: str = "256MB"          # a shard is closed at the first session end past this size
    slice_commits: int = 2000          # histories longer than this are split into slices of it
    filters: FilterConfig = field(default_factory=FilterConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    # Skip a file change whose content another file already typed earlier in the build:
    # "exact" (the same blob) or "near" (MinHash Jaccard >= dedup_threshold; the dedup extra).
    dedup_files: Literal["off", "exact", "near"] = "off"
    dedup_threshold: float = 0.85
    run: ExecutionConfig = field(default_factory=ExecutionConfig)

    def __post_init__(self) -> None:
        if self.slice_commits < 1:
            raise ValueError("slice_commits must be >= 1")
        parse_size(self.shard_size)  # fail at load time, not after an hour of replay


def output_config(cfg: BuildConfig) -> dict[str, Any]:
    """The part of the config that decides the dataset's bytes (all but ``run``)."""
    d = to_dict(cfg)
    d.pop("run", None)
    return d


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_split_ratio(text: str) -> dict[str, float]:
    """``"val=0.05,test=0.05"`` -> ``{"val": 0.05, "test": 0.05}`` (either may be left out)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in ("val", "test"):
            raise ConfigError(f"--split-ratio {text!r}: expected val=SHARE,test=SHARE, e.g. val=0.05,test=0.05")
        try:
            out[name] = float(value)
        except ValueError:
            raise ConfigError(f"--split-ratio {text!r}: {value.strip()!r} is not a number") from None
    return out


def parse_size(text: str | int) -> int:
    """``"256MB"`` -> 256_000_000, ``"1GiB"`` -> 2**30, ``4096`` -> 4096."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
        if not m or m.group(2).upper() not in _UNITS:
            raise ConfigError(f"shard size {text!r}: expected a size like 4096, 64MB or 1GiB")
        value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value < 1:
        raise ConfigError(f"shard size {text!r}: must be positive")
    return value
