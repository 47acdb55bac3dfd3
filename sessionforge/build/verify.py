"""``verify``: prove a dataset is intact, and optionally that it is what replay produces.

Shallow checks: every shard listed in dataset.json exists with its size and sha256, no
unlisted shard lies in ``shards/``, every session of the manifest is in its shard with
the same frame and action counts, and every frame of every shard decodes (which checks
every block's checksum). ``deep`` sessions are then replayed again from the recorded
repository, commit range and config, and compared frame by frame, cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from sessionforge.build.manifest import read_dataset
from sessionforge.build.task import sha256_file


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
    from sessionforge.formats import FormatError, open_shard

    root = Path(root)
    doc, manifest, _errors = read_dataset(root)
    rep = VerifyReport()
    listed: dict[str, Any] = doc["shards"]
    on_disk = {p.name for p in (root / "shards").glob("*.tss")}
    for extra in sorted(on_disk - set(listed)):
        rep.problems.append(f"shards/{extra}: not listed in dataset.json")
    in_manifest = set(manifest["shard"].unique().to_list()) if manifest.height else set()
    for missing in sorted(in_manifest - set(listed)):
        rep.problems.append(f"shards/{missing}: in the manifest but not in dataset.json")
    for name in sorted(listed):
        path = root / "shards" / name
        if progress:
            progress(name)
        if not path.is_file():
            rep.problems.append(f"shards/{name}: missing")
            continue
        rep.shards += 1
        size, digest = path.stat().st_size, sha256_file(path)
        if size != listed[name]["bytes"]:
            rep.problems.append(f"shards/{name}: {size} bytes, dataset.json says {listed[name]['bytes']}")
        if digest != listed[name]["sha256"]:
            rep.problems.append(f"shards/{name}: sha256 {digest[:16]}... does not match dataset.json")
        rows = manifest.filter(pl.col("shard") == name).sort("index")
        try:
            with open_shard(path) as r:
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
        frames = actions = 0
        for fr in r.iter_frames(i):   # decodes every block: checksums, deltas, actions
            frames += len(fr)
            actions += len(fr.action_data)
        if (frames, actions) != (info.frames, info.action_bytes):
            rep.problems.append(f"shards/{name} session {i}: decoded {frames} frames / {actions} action bytes, "
                                f"its index says {info.frames} / {info.action_bytes}")
        rep.sessions += 1
        rep.frames += frames


class _Mismatch(Exception):
    pass


class _Done(Exception):
    """Raised by the comparing sink once the session under test is complete (stops the replay)."""


class _CompareSink:
    """A replay sink that compares session ``target`` of a slice against a recorded session."""

    def __init__(self, reader: Any, index: int, target: int) -> None:
        self.r, self.i, self.target = reader, index, target
        self.n = -1
        self.t = 0
        self.total = reader.sessions[index].frames
        self.buf: Any = None
        self.buf_start = 0

    def begin_session(self, meta: dict, palette: Any) -> None:
        self.n += 1
        if self.n == self.target and list(palette) != list(self.r.sessions[self.i].palette):
            raise _Mismatch("palette differs")

    def add_frame(self, chars: Any, fg: Any, bg: Any, attrs: Any, cursor: Any, action: bytes, changed: Any = None) -> None:
        if self.n != self.target:
            return
        if self.t >= self.total:
            raise _Mismatch(f"replay produced more than the recorded {self.total} frames")
        if self.buf is None or self.t >= self.buf_start + len(self.buf):
            self.buf_start = self.t
            self.buf = self.r.read_frames(self.i, self.t, min(self.t + 4096, self.total))
        k = self.t - self.buf_start
        for what, live, rec in (("chars", chars, self.buf.chars[k]), ("fg", fg, self.buf.fg[k]),
                                ("bg", bg, self.buf.bg[k]), ("attrs", attrs, self.buf.attrs[k])):
            if not np.array_equal(live, rec):
                raise _Mismatch(f"frame {self.t}: {what} differ")
        if [int(cursor[0]), int(cursor[1]), int(bool(cursor[2]))] != [int(x) for x in self.buf.cursor[k]]:
            raise _Mismatch(f"frame {self.t}: cursor {tuple(cursor)} != recorded {tuple(self.buf.cursor[k])}")
        if bytes(action) != self.buf.action(k):
            raise _Mismatch(f"frame {self.t}: action {bytes(action)!r} != recorded {self.buf.action(k)!r}")
        self.t += 1

    def end_session(self, extra_meta: dict | None = None) -> None:
        if self.n == self.target:
            if self.t != self.total:
                raise _Mismatch(f"replay produced {self.t} frames, {self.total} recorded")
            raise _Done()


def _deep(root: Path, doc: dict[str, Any], manifest: pl.DataFrame, n: int, rep: VerifyReport,
          progress: Callable[[str], None] | None) -> None:
    """Replay ``n`` evenly spaced sessions again and compare every frame."""
    from sessionforge.build.clone import clone_cached
    from sessionforge.build.config import BuildConfig
    from sessionforge.build.inputs import is_url
    from sessionforge.config import from_dict
    from sessionforge.formats import open_shard
    from sessionforge.replay import list_commits, replay_repository

    cfg = from_dict(BuildConfig, doc["config"])
    picks = np.unique(np.linspace(0, manifest.height - 1, num=min(n, manifest.height)).round().astype(int))
    cache = (doc.get("build", {}).get("run", {}) or {}).get("cache_dir") or str(root / ".cache" / "repos")
    for k in picks.tolist():
        row = manifest.row(k, named=True)
        what = f"session {row['id']} ({row['repository']})"
        if progress:
            progress(f"deep: {what}")
        try:
            path = str(clone_cached(row["repository"], cache)) if is_url(row["repository"]) else row["repository"]
            commits = list_commits(path, cfg.replay)
            start = row["slice"] * cfg.slice_commits
            part = commits[start:start + cfg.slice_commits]
            with open_shard(root / "shards" / row["shard"]) as r:
                sink = _CompareSink(r, row["index"], row["slice_session"])
                try:
                    replay_repository(path, cfg.replay, sink, commits=part)
                    rep.problems.append(f"deep: {what}: replay ended before the session did")
                    continue
                except _Done:
                    pass
            rep.deep_sessions += 1
            rep.deep_frames += sink.t
        except _Mismatch as exc:
            rep.problems.append(f"deep: {what}: {exc}")
        except Exception as exc:  # the repository may be gone or changed: report, check the rest
            rep.problems.append(f"deep: {what}: cannot replay again: {type(exc).__name__}: {exc}")
