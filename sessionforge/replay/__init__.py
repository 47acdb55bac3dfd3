"""sessionforge.replay: git history -> keystrokes -> editor -> pyte frames, verified lossless.

    from sessionforge.replay import ReplayConfig, replay_repository, list_commits, ReplayStats

    cfg = ReplayConfig(max_commits=50)
    with ShardWriter(out, rows=cfg.rows, cols=cfg.cols) as w:
        stats = replay_repository("path/to/repo", cfg, w)

``replay_repository`` writes into any :class:`FrameSink` (the Protocol of what a
``ShardWriter`` offers replay). ``replay_repository`` and ``ReplayStats`` are imported
on first use, so reading a config or listing commits does not load the editor and pyte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.gitwalk import RepoError, list_commits, root_commit
from sessionforge.replay.sink import FrameSink

if TYPE_CHECKING:  # pragma: no cover
    from sessionforge.replay.pipeline import ReplayStats, replay_repository

__all__ = ["ReplayConfig", "replay_repository", "list_commits", "root_commit", "ReplayStats", "RepoError", "FrameSink"]


def __getattr__(name: str) -> Any:
    if name in ("replay_repository", "ReplayStats"):
        from sessionforge.replay import pipeline  # why: it loads the editor, pyte and numpy (~0.15 s)

        return getattr(pipeline, name)
    raise AttributeError(f"module 'sessionforge.replay' has no attribute {name!r}")
