"""Find one session to look at: ``DIR|SHARD`` plus an optional session spec.

A *shard* path is opened directly and the spec is an index into it (or a session id
stored in its meta). A *dataset directory* is looked up through its ``manifest.parquet``
(columns ``id``, ``shard`` and ``session`` or ``index``); without a manifest its shards
(as :func:`~sessionforge.dataset.layout.dataset_shards` lists them) are numbered across
in file-name order, and ``SHARD:INDEX`` names one directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.layout import MANIFEST, dataset_shards
from sessionforge.dataset.tables import read_manifest
from sessionforge.formats import SessionInfo, ShardReader, open_shard


@dataclass
class OpenSession:
    """One opened session: its reader, its index inside the shard and its info (close it when done)."""

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

    def __enter__(self) -> "OpenSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(path: str | Path, session: str | int | None = None) -> OpenSession:
    """Open the session named by ``session`` in a shard file or a dataset directory.

    ``session``: None (the first session), an integer index, or a session id.
    Raises :class:`DatasetError` with the reason when nothing matches.
    """
    p = Path(path)
    spec = None if session is None else str(session).strip()
    if p.is_dir():
        return _open_in_dataset(p, spec)
    if not p.exists():
        raise DatasetError(f"{p}: no such shard file or dataset directory")
    return _open_in_shard(p, spec, label_prefix=p.name)


def _open_in_shard(p: Path, spec: str | None, label_prefix: str) -> OpenSession:
    reader = open_shard(p)
    n = len(reader.sessions)
    if n == 0:
        _close(reader)
        raise DatasetError(f"{p}: the shard holds no sessions")
    if spec is None:
        idx = 0
    elif spec.lstrip("-").isdigit():
        idx = int(spec)
        if not 0 <= idx < n:
            _close(reader)
            raise DatasetError(f"{p}: session {idx} out of range (the shard holds {n}: 0..{n - 1})")
    else:
        ids = [str(s.meta.get("id", "")) for s in reader.sessions]
        if spec not in ids:
            _close(reader)
            raise DatasetError(f"{p}: no session with id {spec!r} (give an index 0..{n - 1})")
        idx = ids.index(spec)
    return OpenSession(reader, idx, reader.sessions[idx], f"{label_prefix}#{idx}")


def _resolve_shard(root: Path, shard: str) -> Path:
    """The manifest's shard, looked up under the dataset only: a same-named file in the current
    directory must never stand in for it. An absolute path is taken as written."""
    sp = Path(shard)
    cands = [sp] if sp.is_absolute() else [root / sp, root / "shards" / sp, root / "shards" / sp.name]
    for cand in cands:
        if cand.is_file():
            return cand
    raise DatasetError(f"{root}: the manifest names shard {shard!r} but no such file exists")


def _open_in_dataset(root: Path, spec: str | None) -> OpenSession:
    manifest = root / MANIFEST
    if manifest.is_file():
        import polars as pl  # only datasets with a manifest need it; keeps `play SHARD` start-up light

        df = read_manifest(root)
        # The session's index inside its shard: `session`, or `index` as build-dataset writes it.
        col = "session" if "session" in df.columns else "index"
        missing = {"id", "shard", col} - set(df.columns)
        if missing:
            raise DatasetError(f"{manifest}: manifest lacks column(s) {sorted(missing)}")
        # Error rows (a repo that failed) have no shard; they cannot be viewed.
        df = df.filter(pl.col("shard").is_not_null() & pl.col(col).is_not_null())
        if df.height == 0:
            raise DatasetError(f"{manifest}: the dataset holds no sessions")
        ids = [str(x) for x in df["id"].to_list()]
        if spec is None:
            row = 0
        elif spec in ids:
            row = ids.index(spec)
        elif spec.isdigit() and int(spec) < df.height:
            row = int(spec)
        else:
            raise DatasetError(
                f"{manifest}: no session with id {spec!r} (ids look like {ids[0]!r}; "
                f"an index 0..{df.height - 1} also works)"
            )
        shard = _resolve_shard(root, str(df["shard"][row]))
        ref = _open_in_shard(shard, str(int(df[col][row])), label_prefix=shard.name)
        ref.label = ids[row]
        return ref
    shards = dataset_shards(root)
    if not shards:
        raise DatasetError(f"{root}: neither manifest.parquet nor shards/*.tss found")
    if spec is not None and ":" in spec:
        name, _, idx = spec.rpartition(":")
        match = [s for s in shards if s.name == name or s.stem == name]
        if not match:
            raise DatasetError(f"{root}: no shard named {name!r} under shards/")
        return _open_in_shard(match[0], idx, label_prefix=match[0].name)
    if spec is not None and not spec.isdigit():
        raise DatasetError(f"{root}: without a manifest give --session as INDEX or SHARD:INDEX")
    want = 0 if spec is None else int(spec)
    for shard in shards:
        with open_shard(shard) as r:
            n = len(r.sessions)
        if want < n:
            return _open_in_shard(shard, str(want), label_prefix=shard.name)
        want -= n
    raise DatasetError(f"{root}: session {spec} out of range")


def _close(reader: object) -> None:
    close = getattr(reader, "close", None)
    if close is not None:
        close()
