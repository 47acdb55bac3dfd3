"""Rebuild the live editor and terminal of a recorded session at one of its frames.

Replay is deterministic (``verify --deep`` relies on it), and the editor carries over from
one session of a slice to the next, so the state at frame F of a session is rebuilt by
replaying the session's slice from its start (the manifest row gives the repository and
slice; ``dataset.json`` the build config) until the replay makes frame F. A
:class:`Watcher` sink follows the replay: the pipeline hands it the live editor and
terminal at each session start (``attach_live``), and it calls back at chosen frames and
stops the replay by raising :class:`_Stop` at the last one. Nothing is copied: the objects
are the ones that made the recorded frames. The rebuilt screen is then checked against
the recorded frame, every plane and the cursor; a difference is a :class:`RolloutError`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pygit2

from sessionforge.config import from_dict
from sessionforge.errors import SessionforgeError
from sessionforge.formats import ShardReader
from sessionforge.replay import ReplayConfig, list_commits, replay_repository
from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import PALETTE, Terminal
from sessionforge.rollout.points import Point, RolloutError


@dataclass
class SliceSource:
    """What replays a slice again: the opened repository, the slice's commits and the config."""

    repo: pygit2.Repository
    commits: list[str]
    cfg: ReplayConfig


def open_slice(root: Path, doc: dict[str, Any], manifest: pl.DataFrame, point: Point) -> SliceSource:
    """Open the point's repository (cloning a URL into the build's cache, as ``verify --deep``
    does) and list its slice's commits; refuse when the history no longer matches the build."""
    from sessionforge.pipeline.clone import clone_cached
    from sessionforge.pipeline.config import BuildConfig
    from sessionforge.pipeline.inputs import is_url

    cfg = from_dict(BuildConfig, doc["config"])
    if getattr(cfg, "dedup_files", "off") != "off":  # which files a slice skipped was decided over the whole build
        raise RolloutError(f"{root}: built with --dedup-files {cfg.dedup_files}: its slices skip files other slices "
                           "typed, which a replay of one slice cannot know; rollout cannot rebuild its sessions")
    cache = (doc.get("build", {}).get("run", {}) or {}).get("cache_dir") or str(root / ".cache" / "repos")
    try:
        path = str(clone_cached(point.repository, cache)) if is_url(point.repository) else point.repository
        repo = pygit2.Repository(path)
        commits = list_commits(repo, cfg.replay)
    except (pygit2.GitError, KeyError, OSError, SessionforgeError) as exc:
        raise RolloutError(f"{point.id}: cannot open {point.repository} to rebuild the session: {exc}") from None
    start = point.slice * cfg.slice_commits
    part = commits[start:start + cfg.slice_commits]
    same = manifest.filter((pl.col("repository") == point.repository) & (pl.col("slice") == point.slice))
    first = same.filter(pl.col("slice_session") == 0)["first_commit"].to_list()
    if not part or (first and first[0] != part[0]):
        raise RolloutError(f"{point.id}: {point.repository}'s history differs from the build's (slice {point.slice} "
                           "starts elsewhere now): the session cannot be rebuilt")
    return SliceSource(repo, part, cfg.replay)


class _Stop(Exception):
    """Raised by the watcher at its last frame: stops the replay with the state live."""


Call = Callable[[Editor, Terminal], None]


class Watcher:
    """A FrameSink that follows a slice's replay and calls ``calls[(session, frame)](editor,
    terminal)`` right after the replay made that frame (session: number within the slice),
    then stops the replay after the last one."""

    def __init__(self, calls: dict[tuple[int, int], Call]) -> None:
        self.calls = calls
        self.last = max(calls)
        self.session, self.frame = -1, -1
        self.live: tuple[Editor, Terminal] | None = None
        self.palette: list[int] = []

    def begin_session(self, meta: dict, palette: Any) -> None:
        self.session, self.frame = self.session + 1, -1
        self.palette = list(palette)
        self.live = None

    def attach_live(self, editor: Editor, terminal: Terminal) -> None:
        self.live = (editor, terminal)

    def add_frame(self, chars: Any, fg: Any, bg: Any, attrs: Any, cursor: Any, action: bytes,
                  changed: Any = None) -> None:
        self.frame += 1
        call = self.calls.get((self.session, self.frame))
        if call is not None:
            if self.live is None:
                raise RolloutError("the replay pipeline did not hand over its editor (no attach_live call)")
            call(*self.live)
        if (self.session, self.frame) >= self.last:
            raise _Stop()

    def end_session(self, extra_meta: dict | None = None) -> None:
        if self.session >= self.last[0]:
            raise RolloutError(f"the replay ended session {self.session} of the slice after {self.frame + 1} "
                               f"frames, before frame {self.last[1]}: the data does not match a replay")


def follow(source: SliceSource, calls: dict[tuple[int, int], Call]) -> None:
    """Replay ``source`` until the watcher has made every call of ``calls``."""
    try:
        replay_repository(source.repo, source.cfg, Watcher(calls), commits=source.commits)
    except _Stop:
        return
    raise RolloutError("the replay of the slice ended before the hand-over frame")


def rebuild(source: SliceSource, point: Point, reader: ShardReader) -> tuple[Editor, Terminal]:
    """The live editor and terminal that made frame ``point.frame``, checked against the recording."""
    live: list[tuple[Editor, Terminal]] = []
    follow(source, {(point.slice_session, point.frame): lambda ed, term: live.append((ed, term))})
    editor, terminal = live[0]
    check_screen(terminal, reader, point, "the rebuilt screen")
    return editor, terminal


def fork(editor: Editor) -> tuple[Editor, Terminal]:
    """A copy of ``editor`` on a fresh terminal showing it (``redraw``, as every session starts):
    for the baselines, which must not share the model's editor."""
    ed = copy.deepcopy(editor)
    term = Terminal(ed.rows, ed.cols)
    term.feed(ed.redraw())
    term.snapshot()
    return ed, term


def check_screen(terminal: Terminal, reader: ShardReader, point: Point, what: str) -> None:
    """Raise :class:`RolloutError` unless ``terminal`` shows the recorded frame ``point.frame``."""
    info = reader.sessions[point.index]
    if list(info.palette) != list(PALETTE):
        raise RolloutError(f"{point.id}: recorded with another palette than this sessionforge's editor: "
                           "it cannot be continued here")
    rec = reader.read_frames(point.index, point.frame, point.frame + 1)
    for name in ("chars", "fg", "bg", "attrs"):
        live, want = getattr(terminal, name), getattr(rec, name)[0]
        if not np.array_equal(live, want):
            r, c = (int(x[0]) for x in np.nonzero(live != want))
            n = int((live != want).sum())
            raise RolloutError(f"{point.label()}: {what} differs from the recorded frame: {name} of {n} cell(s), "
                               f"first at row {r} col {c} (replay is not reproducing this dataset)")
    cur = [int(terminal.cursor[0]), int(terminal.cursor[1]), int(bool(terminal.cursor[2]))]
    if cur != [int(x) for x in rec.cursor[0]]:
        raise RolloutError(f"{point.label()}: {what} has the cursor at {cur}, the recording at "
                           f"{[int(x) for x in rec.cursor[0]]}")


def handover_commit(meta: dict[str, Any], frame: int) -> str:
    """The commit in progress at ``frame`` of a session (from its markers), or the one about to begin."""
    at = [m for m in (meta.get("markers") or []) if int(m[0]) <= frame]
    if at:
        return str(at[-1][1])
    return str(meta.get("commit_in_progress") or meta.get("first_commit"))


__all__ = ["SliceSource", "Watcher", "check_screen", "follow", "fork", "handover_commit", "open_slice", "rebuild"]
