"""Find one session to look at: ``DIR|SHARD`` plus an optional ``--session``.

A *shard* path is opened directly and ``--session`` is an index into it (or a
session id stored in its meta). A *dataset directory* is looked up through its
``manifest.parquet`` (columns ``id``, ``shard`` and ``session`` or ``index``); without a manifest
the shards under ``DIR/shards/*.tss`` are listed and sessions are numbered across
them in file-name order. :class:`FrameCache` then gives random access to frames in
chunks, so players can step backwards without decoding a session twice.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sessionforge.errors import SessionforgeError
from sessionforge.formats import Frames, SessionInfo, ShardReader, open_shard


class ViewError(SessionforgeError):
    """A dataset, shard or session given to a view command cannot be used."""


@dataclass
class SessionRef:
    """One opened session: its reader, index inside the shard and info."""

    reader: ShardReader
    index: int
    info: SessionInfo
    label: str  # human name for titles and status lines

    @property
    def frames(self) -> int:
        return int(self.info.frames)

    def close(self) -> None:
        """Close the underlying shard reader."""
        _close(self.reader)

    def __enter__(self) -> "SessionRef":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(path: str | Path, session: str | int | None = None) -> SessionRef:
    """Open the session named by ``session`` in a shard file or a dataset directory.

    ``session``: None (the first session), an integer index, or a session id.
    Raises :class:`ViewError` with the reason when nothing matches.
    """
    p = Path(path)
    spec = None if session is None else str(session).strip()
    if p.is_dir():
        return _open_in_dataset(p, spec)
    if not p.exists():
        raise ViewError(f"{p}: no such shard file or dataset directory")
    return _open_in_shard(p, spec, label_prefix=p.name)


def _open_in_shard(p: Path, spec: str | None, label_prefix: str) -> SessionRef:
    reader = open_shard(p)
    n = len(reader.sessions)
    if n == 0:
        _close(reader)
        raise ViewError(f"{p}: the shard holds no sessions")
    if spec is None:
        idx = 0
    elif spec.lstrip("-").isdigit():
        idx = int(spec)
        if not 0 <= idx < n:
            _close(reader)
            raise ViewError(f"{p}: session {idx} out of range (the shard holds {n}: 0..{n - 1})")
    else:
        ids = [str(s.meta.get("id", "")) for s in reader.sessions]
        if spec not in ids:
            _close(reader)
            raise ViewError(f"{p}: no session with id {spec!r} (give an index 0..{n - 1})")
        idx = ids.index(spec)
    return SessionRef(reader, idx, reader.sessions[idx], f"{label_prefix}#{idx}")


def _resolve_shard(root: Path, shard: str) -> Path:
    """The manifest's shard, looked up under the dataset only: a same-named file in the current
    directory must never stand in for it. An absolute path is taken as written."""
    sp = Path(shard)
    cands = [sp] if sp.is_absolute() else [root / sp, root / "shards" / sp, root / "shards" / sp.name]
    for cand in cands:
        if cand.is_file():
            return cand
    raise ViewError(f"{root}: the manifest names shard {shard!r} but no such file exists")


def _open_in_dataset(root: Path, spec: str | None) -> SessionRef:
    manifest = root / "manifest.parquet"
    if manifest.is_file():
        import polars as pl  # only datasets need it; keeps `play SHARD` start-up light

        try:
            df = pl.read_parquet(manifest, glob=False)
        except Exception as exc:  # polars raises many types for a bad file
            raise ViewError(f"{manifest}: cannot read the manifest ({exc})") from exc
        # The session's index inside its shard: `session`, or `index` as build-dataset writes it.
        col = "session" if "session" in df.columns else "index"
        missing = {"id", "shard", col} - set(df.columns)
        if missing:
            raise ViewError(f"{manifest}: manifest lacks column(s) {sorted(missing)}")
        # Error rows (a repo that failed) have no shard; they cannot be viewed.
        df = df.filter(pl.col("shard").is_not_null() & pl.col(col).is_not_null())
        if df.height == 0:
            raise ViewError(f"{manifest}: the dataset holds no sessions")
        ids = [str(x) for x in df["id"].to_list()]
        if spec is None:
            row = 0
        elif spec in ids:
            row = ids.index(spec)
        elif spec.isdigit() and int(spec) < df.height:
            row = int(spec)
        else:
            raise ViewError(
                f"{manifest}: no session with id {spec!r} (ids look like {ids[0]!r}; "
                f"an index 0..{df.height - 1} also works)"
            )
        shard = _resolve_shard(root, str(df["shard"][row]))
        ref = _open_in_shard(shard, str(int(df[col][row])), label_prefix=shard.name)
        ref.label = ids[row]
        return ref
    shards = sorted((root / "shards").glob("*.tss"))
    if not shards:
        raise ViewError(f"{root}: neither manifest.parquet nor shards/*.tss found")
    if spec is not None and ":" in spec:
        name, _, idx = spec.rpartition(":")
        match = [s for s in shards if s.name == name or s.stem == name]
        if not match:
            raise ViewError(f"{root}: no shard named {name!r} under shards/")
        return _open_in_shard(match[0], idx, label_prefix=match[0].name)
    if spec is not None and not spec.isdigit():
        raise ViewError(f"{root}: without a manifest give --session as INDEX or SHARD:INDEX")
    want = 0 if spec is None else int(spec)
    for shard in shards:
        with open_shard(shard) as r:
            n = len(r.sessions)
        if want < n:
            return _open_in_shard(shard, str(want), label_prefix=shard.name)
        want -= n
    raise ViewError(f"{root}: session {spec} out of range")


def parse_range(text: str | None, total: int) -> tuple[int, int]:
    """Parse ``A:B`` (either side optional, negative counts from the end) to [start, stop)."""
    if not text:
        return 0, total
    if ":" not in text:
        raise ViewError(f"--frames {text!r}: expected A:B (e.g. 0:500, 100:, :-10)")
    a, b = text.split(":", 1)
    try:
        start = int(a) if a.strip() else 0
        stop = int(b) if b.strip() else total
    except ValueError:
        raise ViewError(f"--frames {text!r}: A and B must be integers") from None
    start = start + total if start < 0 else start
    stop = stop + total if stop < 0 else stop
    start, stop = max(0, min(start, total)), max(0, min(stop, total))
    if start >= stop:
        raise ViewError(f"--frames {text!r}: empty range for a session of {total} frames")
    return start, stop


def parse_frame_list(text: str, total: int) -> list[int]:
    """Parse ``0,100,200`` (negative = from the end) into valid frame indices."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            t = int(part)
        except ValueError:
            raise ViewError(f"--frames {text!r}: {part!r} is not an integer") from None
        t = t + total if t < 0 else t
        if not 0 <= t < total:
            raise ViewError(f"--frames: frame {part} out of range (session has {total} frames)")
        out.append(t)
    if not out:
        raise ViewError("--frames: give at least one frame index")
    return out


class Markers:
    """Commit/file markers from session meta: ``[[frame_index, commit_hex, path], ...]``."""

    def __init__(self, meta: dict):
        raw = meta.get("markers") or []
        rows = []
        for m in raw:
            if isinstance(m, (list, tuple)) and len(m) >= 3:
                rows.append((int(m[0]), _text(m[1]), _text(m[2])))
        rows.sort(key=lambda x: x[0])
        self._frames = [r[0] for r in rows]
        self._rows = rows

    def starts(self) -> dict[int, tuple[str, str]]:
        """Frame index -> (commit, path) for every frame where the commit or file changes."""
        return {f: (c, p) for f, c, p in self._rows}

    def at(self, t: int) -> tuple[str, str]:
        """(commit, path) in effect at frame ``t``; empty strings when unknown."""
        i = bisect.bisect_right(self._frames, t) - 1
        if i < 0:
            return "", ""
        return self._rows[i][1], self._rows[i][2]


def _close(reader: object) -> None:
    close = getattr(reader, "close", None)
    if close is not None:
        close()


def _text(x: object) -> str:
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return str(x)


class FrameCache:
    """Random access to one session's frames, decoded ``chunk`` frames at a time."""

    def __init__(self, ref: SessionRef, chunk: int = 256):
        self.ref = ref
        self.chunk = chunk
        self._block: Frames | None = None
        self._lo = self._hi = 0

    def get(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bytes]:
        """Frame ``t`` as (chars, fg, bg, attrs, cursor, action)."""
        if not 0 <= t < self.ref.frames:
            raise ViewError(f"frame {t} out of range (session has {self.ref.frames} frames)")
        if not self._lo <= t < self._hi or self._block is None:
            lo = (t // self.chunk) * self.chunk
            hi = min(lo + self.chunk, self.ref.frames)
            self._block = self.ref.reader.read_frames(self.ref.index, lo, hi)
            self._lo, self._hi = lo, hi
        f, i = self._block, t - self._lo
        return f.chars[i], f.fg[i], f.bg[i], f.attrs[i], f.cursor[i], frame_action(f, i)


def frame_action(f: Frames, i: int) -> bytes:
    """Action bytes of frame ``i`` of a decoded block (local index)."""
    o = f.action_offsets
    return bytes(f.action_data[int(o[i]) : int(o[i + 1])])
