"""Loader: B parallel streams of L-frame windows read straight from termstream shards.

Units. Every session is cut into windows of L frames starting at frames 0, L, 2L, ...
(a window needs L+1 frames: the frame after it gives the last target). Runs of up to
``stream_windows`` consecutive windows of one session form a *unit*; a stream walks
a unit window after window (so truncated BPTT can carry its state) and resets its
state when it starts a new unit.

Assignment. Per epoch e the units are shuffled with ``(seed, e)``; with S = world x B
global streams, global stream g = rank x B + b takes units ``perm[g::S]``. Units thus
never overlap across streams or ranks; each stream moves to its next epoch on its own.
Decoding is split over ``workers`` threads, one stream per task.

Windows are lazy: :class:`Window` decodes a chunk of frames when asked, so a window
of 16k frames is never held densely. The whole loader position is a few integers per
stream (:meth:`StreamLoader.state_dict`), so a resumed run sees the same batches.

Hot path. An epoch's permutation is computed once (not per window), and chunks are
decoded into reusable buffers (:class:`_Buffers`): a step allocates no frame arrays.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from sessionforge.formats import Frames, ShardReader
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.dataset import DatasetError, ShardSet
from sessionforge.dataset.windows import Unit, make_units


def _held(arrays: tuple[np.ndarray, ...]) -> bool:
    """Whether anything besides ``arrays`` refers to one of them (a tensor or view handed out)."""
    # getrefcount counts its argument: 2 = the tuple's reference + the argument.
    return any(sys.getrefcount(arrays[i]) > 2 for i in range(len(arrays)))


class _Buffers:
    """A loader's reusable decode targets, so reading a chunk allocates no frame arrays.

    ``stream(b, n)``: stream b's contiguous :class:`Frames`, the ``out=`` of its
    ``read_frames`` (a stream is decoded by one thread at a time, and its frames are
    copied out before the next read). ``batch(n)``: the (n, B, R, C) arrays a chunk is
    returned in. The caller holds a chunk while the next one is decoded (the prefetch
    thread of :func:`~sessionforge.train.bptt.streaming_step`), so these come from a
    small pool, and a set is reused only when nothing outside the pool refers to it: a
    caller that keeps chunks gets fresh arrays, never overwritten ones.
    """

    POOL = 4  # batch sets kept; more held at once are allocated and dropped as before

    def __init__(self, batch: int, rows: int, cols: int) -> None:
        self.B, self.R, self.C = batch, rows, cols
        self._decode: list[Frames | None] = [None] * batch
        self._sets: list[tuple[np.ndarray, ...]] = []
        self.allocated = 0  # batch sets allocated so far (steady state: no new ones)

    def stream(self, b: int, n: int) -> Frames:
        fr = self._decode[b]
        if fr is None or len(fr) < n:
            fr = self._decode[b] = Frames.empty(n, self.R, self.C)
        return fr

    def batch(self, n: int) -> tuple[np.ndarray, ...]:
        """(chars, fg, bg, attrs, cursor) with at least ``n`` frames, none of them in use."""
        for i in range(len(self._sets)):
            if not _held(self._sets[i]):
                if len(self._sets[i][0]) < n:
                    self._sets[i] = self._new(n)
                return self._sets[i]
        arrays = self._new(n)
        if len(self._sets) < self.POOL:
            self._sets.append(arrays)
        return arrays

    def _new(self, n: int) -> tuple[np.ndarray, ...]:
        self.allocated += 1
        shape = (n, self.B, self.R, self.C)
        return (np.empty(shape, np.uint32), np.empty(shape, np.uint8), np.empty(shape, np.uint8),
                np.empty(shape, np.uint8), np.empty((n, self.B, 3), np.int32))


class Window:
    """A window of L frames for B streams (a :class:`~sessionforge.train.bptt.WindowSource`)."""

    def __init__(self, loader: "StreamLoader", picks: list[tuple[Unit, int]]) -> None:
        self.loader = loader
        self.length = loader.window
        self.streams = [(u.ref, u.start + w * loader.window) for u, w in picks]  # (session, first frame)
        self.reset = torch.tensor([w == 0 for _, w in picks])  # (B,) state resets here
        self.palette = torch.from_numpy(np.stack([loader.shards.palette(u.ref) for u, _ in picks]))  # (B, 256, 3)
        self._actions: list[list[bytes | None]] = [[None] * (self.length + 1) for _ in picks]

    def frames(self, t0: int, t1: int) -> FrameInputs:
        """Decode frames [t0, t1) of every stream -> FrameInputs (t1-t0, B, R, C) on the CPU."""
        ld = self.loader
        K, B = t1 - t0, len(self.streams)
        extra = 1 if t1 == self.length else 0  # the frame after the window: its keys are the last target
        # Views of pooled arrays: valid while the caller holds them (see _Buffers).
        chars, fg, bg, attrs, cursor = (a[:K] for a in ld.buffers.batch(K))

        def read(b: int) -> None:
            ref, first = self.streams[b]
            out = ld.buffers.stream(b, K + 1)  # K + 1: the same buffer serves the window's last chunk
            fr = ld.reader(b, ref.shard).read_frames(ref.session, first + t0, first + t1 + extra, out=out)
            chars[:, b], fg[:, b], bg[:, b], attrs[:, b] = fr.chars[:K], fr.fg[:K], fr.bg[:K], fr.attrs[:K]
            cursor[:, b] = fr.cursor[:K]
            for t in range(K + extra):
                self._actions[b][t0 + t] = fr.action(t)

        ld.map(read, range(B))
        return FrameInputs(
            torch.from_numpy(chars.view(np.int32)),  # code points < 2^31: same bits, a dtype torch indexes with
            torch.from_numpy(fg), torch.from_numpy(bg), torch.from_numpy(attrs), torch.from_numpy(cursor),
            self.palette,
        )

    def targets(self) -> torch.Tensor:
        """(L, B) int64 target tokens (see :mod:`sessionforge.model.tokenizer` for the alignment)."""
        missing = [t for t in range(self.length + 1) if self._actions[0][t] is None]
        if missing:  # not read yet (e.g. full_step reads [0, L) in one go): fetch the rest
            self.frames(0, self.length)
        cols = []
        for acts in self._actions:
            tgt, dropped = self.loader.tokenizer.frame_targets(acts)  # type: ignore[arg-type]
            self.loader.dropped_tokens += dropped
            cols.append(torch.from_numpy(tgt))
        return torch.stack(cols, dim=1)  # (L, B)


class StreamLoader:
    """Deterministic, resumable source of :class:`Window` batches for one rank."""

    def __init__(
        self,
        shards: ShardSet,
        tokenizer: ActionTokenizer,
        *,
        window: int,
        batch: int,
        stream_windows: int = 16,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        workers: int = 0,
    ) -> None:
        self.shards, self.tokenizer = shards, tokenizer
        self.window, self.batch, self.seed, self.rank, self.world = window, batch, seed, rank, world
        self.units = make_units(shards.sessions, window, stream_windows)
        streams = world * batch
        if len(self.units) < streams:
            longest = max((r.frames for r in shards.sessions), default=0)
            raise DatasetError(
                f"{shards.paths[0].parent}: {len(self.units)} stream units of {window}-frame windows "
                f"(longest session: {longest} frames) for {streams} streams (world {world} x batch {batch}); "
                "lower train.window, train.batch or train.stream_windows, or add data"
            )
        # Per stream: [epoch, position in that epoch's unit list, window within the unit].
        self._pos = [[0, 0, 0] for _ in range(batch)]
        self._readers: dict[tuple[int, int], ShardReader] = {}
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None
        self.buffers = _Buffers(batch, shards.rows, shards.cols)
        # Permutations are O(units): one per epoch, shared by the streams; each stream
        # keeps its slice of its current epoch, so a window costs O(B), not O(B x units).
        self._perms: dict[int, np.ndarray] = {}
        self._mine: list[tuple[int, np.ndarray] | None] = [None] * batch  # per stream: (epoch, its units)
        self.dropped_tokens = 0

    def _permutation(self, epoch: int) -> np.ndarray:
        """The order of all units in ``epoch`` (a pure function of seed and epoch)."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.units))

    def _epoch_units(self, g: int, epoch: int) -> np.ndarray:
        perm = self._perms.get(epoch)
        if perm is None:
            # Streams only move forward: epochs before every stream's are done with.
            low = min(p[0] for p in self._pos)
            for old in [e for e in self._perms if e < low]:
                del self._perms[old]
            perm = self._perms[epoch] = self._permutation(epoch)
        return perm[g :: self.world * self.batch]

    def _stream_units(self, b: int, epoch: int) -> np.ndarray:
        """Units of local stream ``b`` in ``epoch``, in order (cached while the stream is in that epoch)."""
        mine = self._mine[b]
        if mine is None or mine[0] != epoch:
            mine = self._mine[b] = (epoch, self._epoch_units(self.rank * self.batch + b, epoch))
        return mine[1]

    def reader(self, stream: int, shard: int) -> ShardReader:
        """The stream's own reader of ``shard`` (a reader caches a block, so none is shared by threads)."""
        key = (stream, shard)
        r = self._readers.get(key)
        if r is None:
            for old in [k for k in self._readers if k[0] == stream]:
                self._readers.pop(old).close()
            r = self._readers[key] = self.shards.open(shard)
        return r

    def map(self, fn, items) -> None:
        """Run ``fn`` over ``items`` on the decode threads (inline with 0 or 1 worker)."""
        if self._pool is None:
            for it in items:
                fn(it)
        else:
            list(self._pool.map(fn, items))  # list(): re-raise the first worker error here

    def next_window(self) -> Window:
        """The next window of every stream; advances the loader."""
        picks = []
        for b, pos in enumerate(self._pos):
            epoch, k, w = pos
            units = self._stream_units(b, epoch)
            unit = self.units[int(units[k])]
            picks.append((unit, w))
            w += 1
            if w == unit.windows:
                w, k = 0, k + 1
                if k == len(units):
                    epoch, k = epoch + 1, 0
            self._pos[b] = [epoch, k, w]
        return Window(self, picks)

    def __iter__(self):
        return self

    def __next__(self) -> Window:
        return self.next_window()

    def state_dict(self) -> dict:
        """Loader position (plain ints), enough to continue with exactly the same windows."""
        return {
            "version": 1,
            "seed": self.seed,
            "window": self.window,
            "batch": self.batch,
            "rank": self.rank,
            "world": self.world,
            "units": len(self.units),
            "positions": [list(p) for p in self._pos],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a position from :meth:`state_dict`; the data and loader settings must match."""
        for key in ("seed", "window", "batch", "rank", "world", "units"):
            mine = getattr(self, key) if key != "units" else len(self.units)
            if state.get(key) != mine:
                raise DatasetError(f"loader state: {key} is {state.get(key)!r} in the checkpoint but {mine!r} now")
        self._pos = [list(map(int, p)) for p in state["positions"]]
        self._perms.clear()
        self._mine = [None] * self.batch

    def close(self) -> None:
        """Close readers and decode threads."""
        for r in self._readers.values():
            r.close()
        self._readers.clear()
        if self._pool is not None:
            self._pool.shutdown()
