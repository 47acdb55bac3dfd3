"""Every session of a set of shards, for readers that stream many sessions (training, eval).

``DATA`` may be a dataset directory (its shards as :func:`sessionforge.dataset.layout.dataset_shards`
lists them: those of dataset.json, else ``shards/*.tss``, else ``*.tss`` directly in it; sorted
by name; never subfolders) or explicit shard files. All shards must share one frame size,
which must equal the model's; a mismatch is a :class:`DatasetError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.layout import SHARD_SUFFIX, dataset_shards
from sessionforge.formats import FormatError, ShardReader, open_shard, palette_rgb

@dataclass(frozen=True)
class SessionRef:
    """One session of one shard of a :class:`ShardSet`: where it is and how long it is (no open reader)."""

    shard: int  # index into ShardSet.paths
    session: int
    frames: int


class ShardSet:
    """The shards of a dataset, their common frame size and every session in them."""

    def __init__(self, data: str | Path | Sequence[str | Path]) -> None:
        items = [data] if isinstance(data, (str, Path)) else list(data)
        paths: list[Path] = []
        for item in items:
            p = Path(item)
            if p.is_dir():
                paths += dataset_shards(p)
            elif p.is_file():
                paths.append(p)
            else:
                raise DatasetError(f"{p}: no such shard file or dataset directory")
        if not paths:
            raise DatasetError(f"{', '.join(str(i) for i in items)}: no *{SHARD_SUFFIX} shards found")
        self.paths = paths
        self.sessions: list[SessionRef] = []
        self.palettes: dict[tuple[int, int], np.ndarray] = {}
        self.rows = self.cols = 0
        for k, path in enumerate(paths):
            try:
                with open_shard(path) as r:
                    if k == 0:
                        self.rows, self.cols = r.rows, r.cols
                    elif (r.rows, r.cols) != (self.rows, self.cols):
                        raise DatasetError(
                            f"{path}: frames are {r.rows}x{r.cols}, but {paths[0]} has {self.rows}x{self.cols}"
                        )
                    for info in r.sessions:
                        self.sessions.append(SessionRef(k, info.index, info.frames))
                        self.palettes[(k, info.index)] = palette_rgb(info.palette)
            except FormatError as exc:
                raise DatasetError(str(exc)) from None

    def open(self, shard: int) -> ShardReader:
        """A new reader for shard ``shard`` (readers cache a block: one per thread)."""
        return open_shard(self.paths[shard])

    def palette(self, ref: SessionRef, size: int = 256) -> np.ndarray:
        """The session's palette as (size, 3) uint8 RGB, zero-padded."""
        rgb = self.palettes[(ref.shard, ref.session)][:size]
        out = np.zeros((size, 3), np.uint8)
        out[: len(rgb)] = rgb
        return out

    def check_frame_size(self, rows: int, cols: int) -> None:
        """Raise DatasetError unless the dataset's frames are rows x cols."""
        if (rows, cols) != (self.rows, self.cols):
            raise DatasetError(
                f"{self.paths[0]}: dataset frames are {self.rows}x{self.cols} but the model expects "
                f"{rows}x{cols} (set --set model.rows={self.rows} --set model.cols={self.cols})"
            )

    def action_streams(self, max_bytes: int | None = None, chunk: int = 4096) -> Iterator[bytes]:
        """Each session's concatenated action bytes (stops once ``max_bytes`` were yielded).

        ``chunk`` is kept for callers; actions are read block by block without decoding frames.
        """
        total = 0
        for ref in self.sessions:
            with self.open(ref.shard) as r:
                # read_actions inflates blocks but builds no frame planes (~220 MB per 4096 frames).
                data, _ = r.read_actions(ref.session)
            if max_bytes is not None and total + len(data) > max_bytes:
                data = data[: max_bytes - total]
            total += len(data)
            yield data
            if max_bytes is not None and total >= max_bytes:
                return
