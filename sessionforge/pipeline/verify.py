"""``verify``: prove a dataset is intact, and optionally that it is what replay produces.

Shallow checks: every shard listed in dataset.json exists with its size and sha256, no
unlisted shard lies in ``shards/``, every session of the manifest is in its shard with
the same frame and action counts, and every block of every shard (session headers and
frame blocks) passes its checksum and decodes, to the frame counts of the shard's index.
``deep`` sessions are then replayed again from the recorded repository, commit range and
config, and compared frame by frame, cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from sessionforge.config import from_dict
from sessionforge.dataset import check_shards, read_dataset
from sessionforge.formats import FormatError, open_shard
from sessionforge.dataset.layout import SKIPPED
from sessionforge.pipeline.clone import clone_cached
from sessionforge.pipeline.dedup import skip_keys_from_rows
from sessionforge.pipeline.config import BuildConfig
from sessionforge.pipeline.inputs import is_url
from sessionforge.replay import list_commits, replay_repository
from sessionforge.replay.gitwalk import DUPLICATE_FILE


@dataclass
class VerifyReport:
    """What verify checked and every problem it found (empty = the dataset is sound)."""

    shards: int = 0
    sessions: int = 0
    frames: int = 0
    deep_sessions: int = 0
    deep_frames: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_dataset(root: str | Path, deep: int = 0, progress: Callable[[str], None] | None = None) -> VerifyReport:
    """Check ``root`` as described in the module docstring; never raises for a bad shard."""
    tables = read_dataset(root)
    root, doc, manifest = tables.root, tables.doc, tables.manifest
    rep = VerifyReport()
    listed: dict[str, Any] = tables.listed_shards
    in_manifest = set(manifest["shard"].unique().to_list()) if manifest.height else set()
    for missing in sorted(in_manifest - set(listed)):
        rep.problems.append(f"shards/{missing}: in the manifest but not in dataset.json")
    files = check_shards(tables, progress=progress)
    rep.problems += files.problems
    # A shard whose bytes differ from the build's is still decoded: the reader's own checks say
    # which block is damaged, which the digest alone cannot.
    for name in sorted(n for n in listed if (root / "shards" / n).is_file()):
        rep.shards += 1
        rows = manifest.filter(pl.col("shard") == name).sort("index")
        try:
            with open_shard(root / "shards" / name) as r:
                _check_shard(r, name, rows, rep)
        except FormatError as exc:
            rep.problems.append(f"shards/{name}: {exc}")
    if deep > 0 and manifest.height:
        _deep(root, doc, manifest, deep, rep, progress)
    return rep


def _check_shard(r: Any, name: str, rows: pl.DataFrame, rep: VerifyReport) -> None:
    if len(r.sessions) != rows.height:
        rep.problems.append(f"shards/{name}: {len(r.sessions)} sessions, the manifest lists {rows.height}")
    for row in rows.iter_rows(named=True):
        i = row["index"]
        if i >= len(r.sessions):
            continue
        info = r.sessions[i]
        if (info.frames, info.action_bytes) != (row["frames"], row["actions"]):
            rep.problems.append(f"shards/{name} session {i}: {info.frames} frames / {info.action_bytes} action "
                                f"bytes, the manifest says {row['frames']} / {row['actions']}")
    # The reader's own check reads every block, session headers included (frames alone never
    # read those), and checks each frame block's count against the index.
    try:
        frames = r.verify()
    except FormatError as exc:
        rep.problems.append(f"shards/{name}: {exc}")
        return
    indexed = sum(info.frames for info in r.sessions)
    if frames != indexed:
        rep.problems.append(f"shards/{name}: decoded {frames} frames, its index says {indexed}")
        return
    rep.sessions += len(r.sessions)
    rep.frames += frames


class _Done(Exception):
    """Raised by the comparing sink once the last session under test is complete (stops the replay)."""


class CompareSink:
    """A :class:`~sessionforge.replay.FrameSink` comparing some sessions of a slice, frame by frame,
    to recorded ones.

    ``targets`` maps a session's number within the slice to (reader, index in shard);
    mismatches are collected per session and the replay stops after the last target.
    """

    def __init__(self, targets: dict[int, tuple[Any, int]]) -> None:
        self.targets = targets
        self.last = max(targets)
        self.n = -1
        self.results: dict[int, str | None] = {}
        self.frames = 0
        self.cur: Any = None

    def begin_session(self, meta: dict, palette: Any) -> None:
        self.n += 1
        self.cur = None
        if self.n in self.targets:
            r, i = self.targets[self.n]
            self.cur = {"r": r, "i": i, "t": 0, "total": r.sessions[i].frames, "buf": None, "start": 0}
            if list(palette) != list(r.sessions[i].palette):
                self._fail("palette differs")

    def _fail(self, why: str) -> None:
        self.results[self.n] = why
        self.cur = None        # stop comparing this session; later targets are still checked

    def add_frame(self, chars: Any, fg: Any, bg: Any, attrs: Any, cursor: Any, action: bytes,
                  changed: Any = None) -> None:
        c = self.cur
        if c is None:
            return
        t = c["t"]
        if t >= c["total"]:
            return self._fail(f"replay produced more than the recorded {c['total']} frames")
        buf = c["buf"]
        if buf is None or t >= c["start"] + len(buf):
            c["start"] = t
            buf = c["buf"] = c["r"].read_frames(c["i"], t, min(t + 4096, c["total"]))
        k = t - c["start"]
        for what, live, rec in (("chars", chars, buf.chars[k]), ("fg", fg, buf.fg[k]),
                                ("bg", bg, buf.bg[k]), ("attrs", attrs, buf.attrs[k])):
            if not np.array_equal(live, rec):
                return self._fail(f"frame {t}: {what} differ")
        if [int(cursor[0]), int(cursor[1]), int(bool(cursor[2]))] != [int(x) for x in buf.cursor[k]]:
            return self._fail(f"frame {t}: cursor {tuple(cursor)} != recorded {tuple(buf.cursor[k])}")
        if bytes(action) != buf.action(k):
            return self._fail(f"frame {t}: action {bytes(action)!r} != recorded {buf.action(k)!r}")
        c["t"] = t + 1
        self.frames += 1

    def end_session(self, extra_meta: dict | None = None) -> None:
        if self.n in self.targets and self.n not in self.results:
            c = self.cur
            done = c["t"] == c["total"]
            self.results[self.n] = None if done else f"replay produced {c['t']} frames, {c['total']} recorded"
        if self.n >= self.last:
            raise _Done()


def _duplicates(root: Path, repo: str, commits: set[str]) -> list[tuple[str, str]]:
    """(commit, path) of the changes skipped as duplicates in ``commits`` of ``repo``."""
    path = root / SKIPPED
    if not path.is_file():
        return []
    rows = pl.read_parquet(path, glob=False).filter(
        (pl.col("repository") == repo) & (pl.col("reason") == DUPLICATE_FILE))
    return [(c, p) for c, p in zip(rows["commit"], rows["path"]) if c in commits]


def _deep(root: Path, doc: dict[str, Any], manifest: pl.DataFrame, n: int, rep: VerifyReport,
          progress: Callable[[str], None] | None) -> None:
    """Replay ``n`` evenly spaced sessions again and compare every frame; each slice holding a
    picked session is replayed once, from its start, since the editor's state carries over
    from one session to the next within a slice."""
    cfg = from_dict(BuildConfig, doc["config"])
    picks = np.unique(np.linspace(0, manifest.height - 1, num=min(n, manifest.height)).round().astype(int))
    cache = (doc.get("build", {}).get("run", {}) or {}).get("cache_dir") or str(root / ".cache" / "repos")
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for k in picks.tolist():
        row = manifest.row(k, named=True)
        groups.setdefault((row["repository"], row["slice"]), []).append(row)
    for (repo, slice_index), rows in groups.items():
        what = f"{repo} slice {slice_index}"
        if progress:
            progress(f"deep: {what}")
        readers = {name: open_shard(root / "shards" / name) for name in {r["shard"] for r in rows}}
        try:
            path = str(clone_cached(repo, cache)) if is_url(repo) else repo
            commits = list_commits(path, cfg.replay)
            start = slice_index * cfg.slice_commits
            part = commits[start:start + cfg.slice_commits]
            # A dedup build skipped some changes in favour of other files; skipped.parquet lists them.
            skip = (skip_keys_from_rows(path, _duplicates(root, repo, set(part)))
                    if cfg.dedup_files != "off" else frozenset())
            sink = CompareSink({r["slice_session"]: (readers[r["shard"]], r["index"]) for r in rows})
            try:
                replay_repository(path, cfg.replay, sink, commits=part, skip_blobs=skip)
            except _Done:
                pass
            for r in rows:
                why = sink.results.get(r["slice_session"], "replay ended before this session")
                if why is None:
                    rep.deep_sessions += 1
                else:
                    rep.problems.append(f"deep: session {r['id']} ({repo}): {why}")
            rep.deep_frames += sink.frames
        except Exception as exc:  # the repository may be gone or changed: report, check the rest
            rep.problems.append(f"deep: {what}: cannot replay again: {type(exc).__name__}: {exc}")
        finally:
            for r in readers.values():
                r.close()
