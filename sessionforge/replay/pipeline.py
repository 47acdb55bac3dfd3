"""replay_repository: git history -> keys -> editor -> pyte -> frames -> a sink.

Per key the loop is exactly ``editor.press -> terminal.feed -> terminal.snapshot ->
sink.add_frame`` (with the snapshot's changed spans as the writer's hint), built as one
closure over local names so the per-key Python overhead stays a few attribute loads.

The editor's ``disk`` is filled lazily: just before a file is opened, its text from the
parent tree (already decoded by the git walk for the diff) is put on disk, and after
every commit all other entries are dropped again. So a commit never depends on
what earlier commits typed (a slice of history replays the same way), and a replay
never decodes whole trees.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Sequence

import pygit2

from sessionforge.config import to_dict
from sessionforge.replay.config import ReplayConfig
from sessionforge.replay.edits import edit_script
from sessionforge.replay.editor import EDITOR_VERSION, Editor
from sessionforge.replay.gitwalk import ChangeReader, FileChange, list_commits, open_repo
from sessionforge.replay.lossless import check_changes
from sessionforge.replay.planner import Planner
from sessionforge.replay.sink import FrameSink
from sessionforge.replay.terminal import PALETTE, Terminal

MAX_FAILURE_DETAILS = 100  # per session meta; the count is always exact
MAX_IDLE_FRAMES = 30       # longest pause after one key (idle_rate=1 must still terminate)


@dataclass
class ReplayStats:
    """What one replay did; ``skipped`` counts dropped changes by reason."""

    commits: int = 0
    files: int = 0
    frames: int = 0
    action_bytes: int = 0
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    lossless_failures: list[tuple[str, str, str]] = field(default_factory=list)  # (commit, path, cause)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-friendly dict (failures as lists)."""
        d = asdict(self)
        d["skipped"] = dict(sorted(self.skipped.items()))
        d["lossless_failures"] = [list(f) for f in self.lossless_failures]
        return d


def replay_repository(
    repo: str | os.PathLike | pygit2.Repository,
    cfg: ReplayConfig,
    sink: FrameSink,
    *,
    commits: Optional[Sequence[str]] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> ReplayStats:
    """Replay ``commits`` (default: :func:`list_commits`) of ``repo`` into ``sink``.

    ``sink`` is a :class:`FrameSink` (a ``ShardWriter``, or anything with its
    ``begin_session/add_frame/end_session``). Sessions are cut
    at the first commit boundary once a session holds ``cfg.session_frames`` frames.
    Lossless failures are counted in the returned stats and the session meta, never
    raised: the caller decides (the CLI exits non-zero).
    """
    t0 = time.perf_counter()
    label = os.fspath(repo) if not isinstance(repo, pygit2.Repository) else (repo.workdir or repo.path)
    r = open_repo(repo)
    run = _Run(r, cfg, sink, progress, str(label))
    for hexid in (list_commits(r, cfg) if commits is None else commits):
        run.commit(hexid)
    run.end_session()
    run.stats.seconds = time.perf_counter() - t0
    return run.stats


class _Run:
    """State of one replay: editor, current session's terminal and bookkeeping."""

    def __init__(self, repo: pygit2.Repository, cfg: ReplayConfig, sink: FrameSink,
                 progress: Optional[Callable[[int], None]], label: str) -> None:
        self.cfg = cfg
        self.sink = sink
        self.progress = progress
        self.label = label
        self.reader = ChangeReader(repo, cfg)
        self.ed = Editor(cfg.rows, cfg.cols, disk={})
        self.planner = Planner(self.ed, self._no_session, cfg)
        self.stats = ReplayStats()
        self.counter = [0, 0]          # frames, action bytes of the whole run (hot loop updates)
        self.term: Optional[Terminal] = None
        self.session_start = 0         # counter[0] when the session began
        self._sess: dict[str, Any] = {}
        self._cfg_dict = to_dict(cfg)
        self._realism = cfg.typo_rate > 0 or cfg.idle_rate > 0 or cfg.wander_rate > 0

    @staticmethod
    def _no_session(key: bytes) -> None:
        raise AssertionError("a key was pressed outside a session")

    # -------------------------------------------------------------------- sessions

    def begin_session(self, first_commit: str) -> None:
        cfg = self.cfg
        self.term = term = Terminal(cfg.rows, cfg.cols)
        meta = {"repo": self.label, "first_commit": first_commit, "rows": cfg.rows, "cols": cfg.cols,
                "replay_config": self._cfg_dict, "editor_version": EDITOR_VERSION}
        self.sink.begin_session(meta, list(PALETTE))
        term.feed(self.ed.redraw())
        term.snapshot()
        # The first frame shows the editor as it is; no key produced it.
        self.sink.add_frame(term.chars, term.fg, term.bg, term.attrs, term.cursor, b"", None)
        self.counter[0] += 1
        self.session_start = self.counter[0] - 1
        self._sess = {"first": first_commit, "last": first_commit, "commits": 0, "skipped": {},
                      "failures": [], "markers": []}
        self.planner.press = self._make_step()
        self.stats.sessions += 1

    def end_session(self) -> None:
        if self.term is None:
            return
        s = self._sess
        extra = {
            "last_commit": s["last"],
            "commits": s["commits"],
            "frames": self.counter[0] - self.session_start,
            "skipped": dict(sorted(s["skipped"].items())),
            "lossless_failures": len(s["failures"]),
            "lossless_failure_details": [list(f) for f in s["failures"][:MAX_FAILURE_DETAILS]],
            "markers": s["markers"],
        }
        self.sink.end_session(extra)
        self.term = None
        self.planner.press = self._no_session

    def _make_step(self) -> Callable[[bytes], None]:
        term = self.term
        assert term is not None
        ed_press, feed, snapshot, add = self.ed.press, term.feed, term.snapshot, self.sink.add_frame
        counter = self.counter

        def step(key: bytes) -> None:
            feed(ed_press(key))
            spans = snapshot()
            add(term.chars, term.fg, term.bg, term.attrs, term.cursor, key, spans)
            counter[0] += 1
            counter[1] += len(key)

        if self.cfg.idle_rate <= 0:
            return step
        planner, rate = self.planner, self.cfg.idle_rate

        def idle_step(key: bytes) -> None:
            step(key)
            rng = planner.rng
            for _ in range(MAX_IDLE_FRAMES):   # a pause: a geometric run of frames with no key
                if rng is None or rng.random() >= rate:
                    break
                add(term.chars, term.fg, term.bg, term.attrs, term.cursor, b"", snapshot())
                counter[0] += 1

        return idle_step

    # --------------------------------------------------------------------- commits

    def commit(self, hexid: str) -> None:
        cfg, stats = self.cfg, self.stats
        cc = self.reader.read(hexid)
        stats.commits += 1
        skipped = dict(cc.skipped)
        plans: list[tuple[FileChange, list]] = []
        typed = sum(len(ch.new_text or "") for ch in cc.changes if ch.kind == "add")
        if typed <= cfg.max_diff_bytes:
            typed = 0
            for ch in cc.changes:
                edits = [] if ch.kind == "delete" else edit_script(ch.old_text or "", ch.new_text or "")
                typed += sum(len(e.insert) for e in edits)
                plans.append((ch, edits))
        if typed > cfg.max_diff_bytes:
            # Dropping a whole commit is safe: the next commit opens files from its own parent tree.
            skipped["commit_too_large"] = skipped.get("commit_too_large", 0) + 1
            plans = []
        if self.term is None:
            self.begin_session(hexid)
        s = self._sess
        s["last"] = hexid
        s["commits"] += 1
        for reason, n in skipped.items():
            stats.skipped[reason] = stats.skipped.get(reason, 0) + n
            s["skipped"][reason] = s["skipped"].get(reason, 0) + n
        frames_before = self.counter[0]
        if self._realism:
            self.planner.rng = random.Random(f"{cfg.seed}:{hexid}")
        markers = s["markers"]
        if not plans:
            markers.append([self.counter[0] - self.session_start, hexid, ""])
        for ch, edits in plans:
            markers.append([self.counter[0] - self.session_start, hexid, ch.path])
            self._apply(ch, edits)
            stats.files += 1
        disk = self.ed.disk
        for path, cause in check_changes(disk, [ch for ch, _ in plans]):
            stats.lossless_failures.append((hexid, path, cause))
            s["failures"].append((hexid, path, cause))
        keep = self.ed.path
        for path in [p for p in disk if p != keep]:
            del disk[path]
        stats.frames = self.counter[0]
        stats.action_bytes = self.counter[1]
        if self.progress is not None:
            self.progress(self.counter[0] - frames_before)
        if self.counter[0] - self.session_start >= cfg.session_frames:
            self.end_session()

    def _apply(self, ch: FileChange, edits: list) -> None:
        planner, disk = self.planner, self.ed.disk
        if ch.kind == "delete":
            disk[ch.old_path] = ch.old_text
            planner.open(ch.old_path, ch.old_text)
            planner.delete_file()
        elif ch.kind == "add":
            disk.pop(ch.new_path, None)          # Ctrl-O of a missing path opens a new empty buffer
            planner.open(ch.new_path, "")
            planner.apply(edits, "")
            planner.save()
        elif ch.kind == "modify":
            disk[ch.new_path] = ch.old_text
            planner.open(ch.new_path, ch.old_text)
            planner.apply(edits, ch.old_text)
            planner.save()
        else:  # rename: move the file (Alt-R), then edit and save if the content changed too
            disk[ch.old_path] = ch.old_text
            disk.pop(ch.new_path, None)
            planner.open(ch.old_path, ch.old_text)
            planner.rename_to(ch.new_path)
            if edits:
                planner.apply(edits, ch.old_text)
                planner.save()
