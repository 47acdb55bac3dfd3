"""ReplayConfig: every knob of one repository replay (loaded with sessionforge.config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sessionforge.replay.filters import FileFilterConfig


@dataclass
class ReplayConfig:
    """Options of a replay: screen size, which history, which files, limits, realism.

    Skipped file changes are counted by reason (``binary``, ``submodule``, ``symlink``,
    ``oversize``, ``non_utf8``, ``unsafe_path``, ``excluded``, ``mode_only``, the file filters'
    reasons of ``files``) and whole commits over ``max_diff_bytes`` as ``commit_too_large``.
    Non-UTF-8 files are skipped, never shown approximately: the editor holds ``str`` and the
    lossless promise is byte-for-byte.
    """

    rows: int = 48
    cols: int = 160
    # History: `ref` (default HEAD) is the tip; `end_commit` overrides it; `start_commit`
    # (inclusive) must be a first-parent ancestor of the tip. `max_commits` keeps the
    # OLDEST n commits of that range (a replay builds files up from the start).
    ref: Optional[str] = None
    start_commit: Optional[str] = None
    end_commit: Optional[str] = None
    max_commits: Optional[int] = None
    # Path filters (fnmatch globs on the full path, "/" separated). Empty include = all.
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_file_bytes: int = 1_000_000      # either side of a change over this -> skipped "oversize"
    max_diff_bytes: int = 2_000_000      # characters a commit would type; over -> "commit_too_large"
    # Machine-written, vendored and data files (notebooks, lock files, generated code, long
    # lines, ...): see filters.py and PIPELINE.md. Named `files`, not `filters`: a BuildConfig's
    # `filters` are its repository filters (license, language, stars).
    files: FileFilterConfig = field(default_factory=FileFilterConfig)
    session_frames: int = 100_000        # most frames in a session (cut at a commit, file or key boundary)
    # Realism, all off by default; seeded per commit, so any slice of history replays the same.
    seed: int = 0
    typo_rate: float = 0.0               # per typed ASCII letter: type a wrong letter, Backspace it
    idle_rate: float = 0.0               # per key: add an idle frame (empty action) after it
    wander_rate: float = 0.0             # per hunk: a few random arrow keys before navigating

    def __post_init__(self) -> None:
        if self.rows < 8 or self.cols < 40:
            raise ValueError(f"frame size {self.rows}x{self.cols} is too small (need at least 8x40)")
        for name in ("max_file_bytes", "max_diff_bytes", "session_frames"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.session_frames < 3:  # the first frame, Alt-V and its character must fit in one session
            raise ValueError(f"session_frames must be at least 3, got {self.session_frames}")
        if self.max_commits is not None and self.max_commits <= 0:
            raise ValueError(f"max_commits must be positive, got {self.max_commits}")
        for name in ("typo_rate", "idle_rate", "wander_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
