"""replay_repository: git history -> keys -> editor -> pyte -> frames -> a sink.

Per key the loop is exactly ``editor.press -> terminal.feed -> terminal.snapshot ->
sink.add_frame`` (with the snapshot's changed spans as the writer's hint), built as one
closure over local names so the per-key Python overhead stays a few attribute loads.

The editor's ``disk`` is filled lazily: just before a file is opened, its text from the
parent tree (already decoded by the git walk for the diff) is put on disk, and after
every commit all other entries are dropped again. So a commit never depends on
what earlier commits typed (a slice of history replays the same way), and a replay
never decodes whole trees.

Sessions hold at most ``session_frames`` frames. A session is cut before a commit, or
before a file change inside a commit, that would (by an estimate of its keys) not fit;
a file change longer than a whole session is cut between two keys. Each session starts
with a fresh terminal over the editor as the previous session left it (PIPELINE.md,
"Frames and sessions", says why), and its header records that editor state.
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
from sessionforge.replay.edits import Edit, edit_script
from sessionforge.replay.editor import EDITOR_VERSION, Editor
from sessionforge.replay.gitwalk import ChangeReader, FileChange, SkippedFile, list_commits, open_repo
from sessionforge.replay.lossless import check_changes
from sessionforge.replay.planner import ALT_V, Planner
from sessionforge.replay.sink import FrameSink
from sessionforge.replay.terminal import PALETTE, Terminal

MAX_FAILURE_DETAILS = 100  # per session meta; the count is always exact
MAX_IDLE_FRAMES = 30       # longest pause after one key (idle_rate=1 must still terminate)
MAX_SKIP_LIST = 100_000    # skipped changes listed in ReplayStats.skipped_files (the counts stay exact)
NO_FILE = "(no file)"      # frames_by_ext key of frames outside any file change (a session's first frame)
NO_EXTENSION = "(none)"    # frames_by_ext key of a file whose name has no extension


@dataclass
class ReplayStats:
    """What one replay did; ``skipped`` counts dropped changes by reason, ``skipped_files``
    lists them as ``(commit, path, reason, bytes)`` (the first ``skip_list_limit``; the rest
    are counted in ``skipped_files_unlisted``)."""

    commits: int = 0
    files: int = 0
    frames: int = 0
    action_bytes: int = 0
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[tuple[str, str, str, int]] = field(default_factory=list)
    skipped_files_unlisted: int = 0
    files_closed: int = 0          # open files closed because a commit made them skipped
    lossless_failures: list[tuple[str, str, str]] = field(default_factory=list)  # (commit, path, cause)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-friendly dict (failures and skipped files as lists)."""
        d = asdict(self)
        d["skipped"] = dict(sorted(self.skipped.items()))
        d["skipped_files"] = [list(f) for f in self.skipped_files]
        d["lossless_failures"] = [list(f) for f in self.lossless_failures]
        return d


def replay_repository(
    repo: str | os.PathLike | pygit2.Repository,
    cfg: ReplayConfig,
    sink: FrameSink,
    *,
    commits: Optional[Sequence[str]] = None,
    progress: Optional[Callable[[int], None]] = None,
    skip_list_limit: int = MAX_SKIP_LIST,
    skip_blobs: frozenset[str] = frozenset(),
) -> ReplayStats:
    """Replay ``commits`` (default: :func:`list_commits`) of ``repo`` into ``sink``.

    ``sink`` is a :class:`FrameSink` (a ``ShardWriter``, or anything with its
    ``begin_session/add_frame/end_session``). Sessions hold at most ``cfg.session_frames``
    frames (see the module docstring). Lossless failures are counted in the returned stats
    and the session meta, never raised: the caller decides (the CLI exits non-zero).
    ``skip_list_limit`` caps ``stats.skipped_files``. A change whose ``"path\\0new blob id"``
    is in ``skip_blobs`` is skipped as ``duplicate_file`` (the build's file dedup decides which).
    """
    t0 = time.perf_counter()
    label = os.fspath(repo) if not isinstance(repo, pygit2.Repository) else (repo.workdir or repo.path)
    r = open_repo(repo)
    run = _Run(r, cfg, sink, progress, str(label), skip_list_limit, skip_blobs)
    for hexid in (list_commits(r, cfg) if commits is None else commits):
        run.commit(hexid)
    run.end_session()
    run.stats.seconds = time.perf_counter() - t0
    return run.stats


def estimate_keys(ch: FileChange, edits: Sequence[Edit]) -> int:
    """About how many keys replaying ``ch`` takes (open, edits, save): what session cuts plan with.

    Typing is one key per character and deleting at most one per character; navigation is
    counted as a few keys per edit. A miss only moves a cut: the budget is enforced per key.
    """
    if ch.kind == "delete":
        return len(ch.path) + 3
    keys = len(ch.path) + 3 + (len(ch.old_path or "") + 2 if ch.kind == "rename" else 0)
    for e in edits:
        keys += len(e.insert) + len(e.delete) + 4
    return keys


def frames_by_extension(markers: Sequence[Sequence[Any]], frames: int) -> dict[str, int]:
    """A session's frames by the extension of the file each belongs to, from its markers
    (``[frame, commit, path]`` at the first frame of each file change)."""
    out: dict[str, int] = {}
    bounds = [(int(m[0]), str(m[2])) for m in markers] + [(frames, "")]
    first = bounds[0][0] if markers else frames
    if first > 0:
        out[NO_FILE] = first
    for (at, path), (end, _) in zip(bounds, bounds[1:]):
        if end > at:
            key = file_extension(path) if path else NO_FILE
            out[key] = out.get(key, 0) + end - at
    return dict(sorted(out.items()))


def file_extension(path: str) -> str:
    """``src/a.PY`` -> ``.py``; a name without one (``Makefile``, ``.bashrc``) -> ``(none)``."""
    name = path.rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem and ext else NO_EXTENSION


class _Run:
    """State of one replay: editor, current session's terminal and bookkeeping."""

    def __init__(self, repo: pygit2.Repository, cfg: ReplayConfig, sink: FrameSink,
                 progress: Optional[Callable[[int], None]], label: str, skip_list_limit: int,
                 skip_blobs: frozenset[str] = frozenset()) -> None:
        self.cfg = cfg
        self.sink = sink
        self.progress = progress
        self.label = label
        self.skip_list_limit = skip_list_limit
        self.reader = ChangeReader(repo, cfg, skip_blobs)
        self.ed = Editor(cfg.rows, cfg.cols, disk={})
        self.planner = Planner(self.ed, self._no_session, cfg)
        self.stats = ReplayStats()
        self.budget = cfg.session_frames
        self.counter = [0, 0]          # frames, action bytes of the whole run (hot loop updates)
        self.term: Optional[Terminal] = None
        self.session_start = 0         # counter[0] when the session began
        self._limit = [0]              # the current step's check point (see _make_step)
        self._current: tuple[str, Optional[str]] = ("", None)  # (commit, path) being typed
        self._sess: dict[str, Any] = {}
        self._cfg_dict = to_dict(cfg)
        self._realism = cfg.typo_rate > 0 or cfg.idle_rate > 0 or cfg.wander_rate > 0
        idle = cfg.idle_rate
        # frames per key on average, so that estimates of keys become estimates of frames
        self._frames_per_key = (1 + 2 * cfg.typo_rate) * (1 + (MAX_IDLE_FRAMES if idle >= 1 else
                                                               min(MAX_IDLE_FRAMES, idle / (1 - idle))))

    @staticmethod
    def _no_session(key: bytes) -> None:
        raise AssertionError("a key was pressed outside a session")

    def _frames(self) -> int:
        """Frames in the open session."""
        return self.counter[0] - self.session_start

    # -------------------------------------------------------------------- sessions

    def begin_session(self, first_commit: str, cut: str) -> None:
        """Open a session: a fresh terminal showing the editor as it is (``cut`` says where the
        previous session ended: ``start``, ``commit``, ``file`` or ``key``)."""
        cfg, ed = self.cfg, self.ed
        self.term = term = Terminal(cfg.rows, cfg.cols)
        inside = cut in ("file", "key")
        meta = {"repo": self.label, "first_commit": first_commit, "rows": cfg.rows, "cols": cfg.cols,
                "replay_config": self._cfg_dict, "editor_version": EDITOR_VERSION,
                # What a reader cannot see on the first frame: where in history the session
                # begins and the editor state it inherits from the previous session.
                "cut": cut, "commit_in_progress": first_commit if inside else None,
                "change_in_progress": self._current[1] if cut == "key" else None,
                "open_file": ed.path, "cursor": [ed.cursor_line, ed.cursor_col], "top_line": ed.top_line,
                "modified": ed.modified, "prompt": ed.prompt}
        self.sink.begin_session(meta, list(PALETTE))
        if hasattr(self.sink, "attach_live"):  # optional: a sink that reads the live editor and terminal
            self.sink.attach_live(ed, term)    # (rollout rebuilds the state at a frame); once per session
        term.feed(ed.redraw())
        term.snapshot()
        # The first frame shows the editor as it is; no key produced it.
        self.sink.add_frame(term.chars, term.fg, term.bg, term.attrs, term.cursor, b"", None)
        self.counter[0] += 1
        self.session_start = self.counter[0] - 1
        self._sess = {"first": first_commit, "last": first_commit, "commits": 0, "skipped": {},
                      "failures": [], "markers": [], "closed": 0}
        if cut == "key" and self._current[1] is not None:
            self._sess["markers"].append([1, first_commit, self._current[1]])  # the change goes on here
        self.planner.press = self._make_step()
        self.stats.sessions += 1

    def end_session(self) -> None:
        if self.term is None:
            return
        s = self._sess
        frames = self._frames()
        extra = {
            "last_commit": s["last"],
            "commits": s["commits"],
            "frames": frames,
            "skipped": dict(sorted(s["skipped"].items())),
            "lossless_failures": len(s["failures"]),
            "lossless_failure_details": [list(f) for f in s["failures"][:MAX_FAILURE_DETAILS]],
            "markers": s["markers"],
            "frames_by_ext": frames_by_extension(s["markers"], frames),
            "files_closed": s["closed"],
        }
        self.sink.end_session(extra)
        self.term = None
        self._limit[0] = -1            # a step the planner still holds now forwards every key
        self.planner.press = self._no_session

    def _cut(self, where: str) -> None:
        """End the session inside the current commit (``where``: file or key) and open the next."""
        commit = self._current[0]
        markers, frames = self._sess["markers"], self._frames()
        while markers and markers[-1][0] >= frames:   # a change cut before its first key belongs to the next
            markers.pop()
        self.end_session()
        self.begin_session(commit, where)

    def _overflow(self, key: bytes, limit: list[int]) -> bool:
        """A key reached a step's check point: forward it if that step's session is over, cut
        the session if the key would not fit; False lets the step press it."""
        if limit is self._limit and self.term is not None:
            n, budget = self._frames(), self.budget
            # Alt-V and the character it quotes stay in one session.
            if n < budget - 1 or (n == budget - 1 and key != ALT_V):
                return False
            self._cut("key")
        self.planner.press(key)
        return True

    def _make_step(self) -> Callable[[bytes], None]:
        term = self.term
        assert term is not None
        ed_press, feed, snapshot, add = self.ed.press, term.feed, term.snapshot, self.sink.add_frame
        counter = self.counter
        # One comparison per key guards the budget: at `limit` frames the key goes through
        # _overflow, which cuts the session (or, for a step of a session already cut, forwards).
        limit = self._limit = [self.session_start + self.budget - 1]
        overflow = self._overflow

        def step(key: bytes) -> None:
            if counter[0] >= limit[0] and overflow(key, limit):
                return
            feed(ed_press(key))
            spans = snapshot()
            add(term.chars, term.fg, term.bg, term.attrs, term.cursor, key, spans)
            counter[0] += 1
            counter[1] += len(key)

        if self.cfg.idle_rate <= 0:
            return step
        planner, rate, end = self.planner, self.cfg.idle_rate, self.session_start + self.budget

        def idle_step(key: bytes) -> None:
            if counter[0] >= limit[0] and overflow(key, limit):
                return
            feed(ed_press(key))
            add(term.chars, term.fg, term.bg, term.attrs, term.cursor, key, snapshot())
            counter[0] += 1
            counter[1] += len(key)
            rng = planner.rng
            for _ in range(MAX_IDLE_FRAMES):   # a pause: a geometric run of frames with no key
                if counter[0] >= end or rng is None or rng.random() >= rate:
                    break
                add(term.chars, term.fg, term.bg, term.attrs, term.cursor, b"", snapshot())
                counter[0] += 1

        return idle_step

    def _fits(self, frames_needed: float) -> bool:
        """Whether the open session should take work of about ``frames_needed`` frames: yes if it
        fits, or if it would not fit a fresh session either (cutting first gains nothing)."""
        n, budget = self._frames(), self.budget
        if n <= 1:
            return True
        if n >= budget:          # full: the next key would cut it anyway
            return False
        return n + frames_needed <= budget or 1 + frames_needed > budget

    # --------------------------------------------------------------------- commits

    def commit(self, hexid: str) -> None:
        cfg, stats = self.cfg, self.stats
        cc = self.reader.read(hexid)
        stats.commits += 1
        skipped = dict(cc.skipped)
        skipped_files = list(cc.skipped_files)
        plans: list[tuple[FileChange, list]] = []
        typed = sum(len(ch.new_text or "") for ch in cc.changes if ch.kind == "add")
        if typed <= cfg.max_diff_bytes:
            typed = 0
            for ch in cc.changes:
                edits = [] if ch.kind == "delete" else edit_script(ch.old_text or "", ch.new_text or "")
                typed += sum(len(e.insert) for e in edits)
                plans.append((ch, edits))
        # Paths whose git version is not typed: an editor still holding one closes it.
        untyped = {f.path for f in skipped_files if f.reason != "mode_only"}
        if typed > cfg.max_diff_bytes:
            # Dropping a whole commit is safe: the next commit opens files from its own parent tree.
            skipped["commit_too_large"] = skipped.get("commit_too_large", 0) + 1
            skipped_files.append(SkippedFile("", "commit_too_large", typed))
            untyped.update(p for ch in cc.changes for p in (ch.old_path, ch.new_path) if p)
            plans = []
        per_key = self._frames_per_key
        need = [estimate_keys(ch, edits) * per_key for ch, edits in plans]
        if self.term is not None:
            total = sum(need)
            # Cut before the commit if it would not fit; a commit longer than a session is cut
            # inside instead, so that its first file still fills this one.
            first = total if 1 + total <= self.budget else (need[0] if need else 0)
            if not self._fits(first):
                self.end_session()
        if self.term is None:
            self.begin_session(hexid, "start" if stats.sessions == 0 else "commit")
        s = self._sess
        s["last"] = hexid
        s["commits"] += 1
        for reason, n in skipped.items():
            stats.skipped[reason] = stats.skipped.get(reason, 0) + n
            s["skipped"][reason] = s["skipped"].get(reason, 0) + n
        self._list_skipped(hexid, skipped_files)
        frames_before = self.counter[0]
        if self._realism:
            self.planner.rng = random.Random(f"{cfg.seed}:{hexid}")
        if not plans:
            s["markers"].append([self._frames(), hexid, ""])
        for i, (ch, edits) in enumerate(plans):
            if i and not self._fits(need[i]):
                self._current = (hexid, None)
                self._cut("file")
            self._current = (hexid, ch.path)
            self._sess["markers"].append([self._frames(), hexid, ch.path])
            self._sess["last"] = hexid
            self._apply(ch, edits)
            stats.files += 1
        disk = self.ed.disk
        for path, cause in check_changes(disk, [ch for ch, _ in plans]):
            stats.lossless_failures.append((hexid, path, cause))
            self._sess["failures"].append((hexid, path, cause))
        untyped.difference_update(ch.new_path for ch, _ in plans if ch.new_path is not None)
        if self.ed.path is not None and self.ed.path in untyped:
            # Its git version is skipped (it became generated, minified, binary, ...): an editor
            # that kept showing the old text would be out of step with the repository.
            self.planner.close_file()
            stats.files_closed += 1
            self._sess["closed"] += 1
        self._current = ("", None)
        keep = self.ed.path
        for path in [p for p in disk if p != keep]:
            del disk[path]
        stats.frames = self.counter[0]
        stats.action_bytes = self.counter[1]
        if self.progress is not None:
            self.progress(self.counter[0] - frames_before)

    def _list_skipped(self, hexid: str, files: Sequence[SkippedFile]) -> None:
        stats = self.stats
        room = max(0, self.skip_list_limit - len(stats.skipped_files))
        stats.skipped_files.extend((hexid, f.path, f.reason, f.bytes) for f in files[:room])
        stats.skipped_files_unlisted += max(0, len(files) - room)

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
