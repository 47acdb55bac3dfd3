"""Loader hot path: one permutation per epoch (same windows as before), pooled decode buffers
that are never overwritten while held, and one prefetch thread per training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sessionforge.formats import open_shard
from sessionforge.model.fbam import FBAM
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.train import bptt
from sessionforge.train.bptt import full_step, streaming_step
from sessionforge.dataset.windows import make_units
from sessionforge.train.loader import StreamLoader
from sessionforge.train.loop import train
from sessionforge.dataset import ShardSet
from trainkit import tiny_model_config, tiny_run_config

TOK = ActionTokenizer([b"return ", b"def "])


def _loader(data, **kw) -> StreamLoader:
    args = dict(window=12, batch=3, stream_windows=2, seed=0)
    args.update(kw)
    return StreamLoader(ShardSet(data), TOK, **args)


def _reference(data, n: int, *, window=12, batch=3, stream_windows=2, seed=0, rank=0, world=1) -> list:
    """The windows as first specified: a fresh epoch permutation for every stream and window."""
    units = make_units(ShardSet(data).sessions, window, stream_windows)
    pos = [[0, 0, 0] for _ in range(batch)]
    out = []
    for _ in range(n):
        picks = []
        for b in range(batch):
            epoch, k, w = pos[b]
            mine = np.random.default_rng([seed, epoch]).permutation(len(units))[rank * batch + b :: world * batch]
            u = units[int(mine[k])]
            picks.append(((u.ref, u.start + w * window), w == 0))
            w += 1
            if w == u.windows:
                w, k = 0, k + 1
                if k == len(mine):
                    epoch, k = epoch + 1, 0
            pos[b] = [epoch, k, w]
        out.append(picks)
    return out


def _picks(w) -> list:
    return [(s, bool(r)) for s, r in zip(w.streams, w.reset)]


@pytest.mark.parametrize("kw", [dict(), dict(batch=2, stream_windows=3, rank=1, world=2),
                                dict(batch=1, stream_windows=1, seed=5)])
def test_windows_equal_a_straightforward_recomputation_across_epochs_and_resume(tiny_data, kw):
    n = 150  # several epochs for every setting
    want = _reference(tiny_data, n, **kw)
    ld = _loader(tiny_data, **kw)
    got = [_picks(ld.next_window()) for _ in range(n // 2)]
    resumed = _loader(tiny_data, **kw)
    resumed.load_state_dict(ld.state_dict())
    got += [_picks(resumed.next_window()) for _ in range(n - n // 2)]
    assert max(p[0] for p in resumed._pos) >= 2, "the test should cross epochs"
    assert got == want


def test_one_permutation_per_epoch_not_per_window(tiny_data):
    ld = _loader(tiny_data, stream_windows=1)
    calls = []
    perm = ld._permutation
    ld._permutation = lambda epoch: (calls.append(epoch), perm(epoch))[1]
    for _ in range(70):
        ld.next_window()
    epochs = max(p[0] for p in ld._pos) + 1
    assert epochs >= 3
    assert sorted(calls) == list(range(epochs))  # not 3 streams x 70 windows
    assert len(ld._perms) <= 2  # finished epochs are dropped


def _truth(loader: StreamLoader, w, t0: int, t1: int) -> np.ndarray:
    cols = []
    for ref, first in w.streams:
        fr = open_shard(loader.shards.paths[ref.shard]).read_frames(ref.session, first + t0, first + t1)
        cols.append(fr.chars.astype("int32"))
    return np.stack(cols, axis=1)  # (K, B, R, C)


@pytest.mark.parametrize("workers", [0, 2])
def test_chunks_still_held_are_never_overwritten(tiny_data, workers):
    ld = _loader(tiny_data, workers=workers)
    spans = [(0, 4), (4, 8), (8, 12), (0, 12), (0, 3), (3, 12)]  # more than the pool keeps
    held = []
    for _ in range(2):
        w = ld.next_window()
        held += [(w, t0, t1, w.frames(t0, t1)) for t0, t1 in spans]
    for w, t0, t1, x in held:
        assert np.array_equal(x.chars.numpy(), _truth(ld, w, t0, t1))
        assert x.chars.is_contiguous() and x.fg.is_contiguous() and x.cursor.is_contiguous()
    ld.close()


def test_double_buffered_reads_allocate_nothing_after_the_first_window(tiny_data):
    ld = _loader(tiny_data)
    order = [(0, 5), (5, 10), (10, 12), (10, 12), (5, 10), (0, 5)]  # a streaming step's read order
    for i in range(6):
        w = ld.next_window()
        prev = None
        for t0, t1 in order:
            x = w.frames(t0, t1)  # decoded while the previous chunk is still held
            assert np.array_equal(x.chars.numpy(), _truth(ld, w, t0, t1))
            if prev is not None:
                assert np.array_equal(prev[2].chars.numpy(), _truth(ld, w, prev[0], prev[1]))
            prev = (t0, t1, x)
        if i == 0:
            first = ld.buffers.allocated
    assert first == ld.buffers.allocated == 2


def test_streaming_step_over_pooled_loader_windows_equals_full_backprop(tiny_data):
    torch.manual_seed(0)
    model = FBAM(tiny_model_config(8, 32, layers=1), TOK.vocab_size).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    a, b = _loader(tiny_data, workers=2), _loader(tiny_data)
    pool = bptt.prefetcher()
    for _ in range(3):  # later windows reuse the buffers of earlier ones
        model.zero_grad(set_to_none=True)
        full = full_step(model, b.next_window())
        want = {n: p.grad.clone() for n, p in model.named_parameters()}
        model.zero_grad(set_to_none=True)
        got = streaming_step(model, a.next_window(), chunk=5, frame_chunk=2, prefetch=pool)
        assert got.loss == pytest.approx(full.loss, rel=1e-12)
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.grad, want[n], rtol=1e-9, atol=1e-12, msg=n)
    # Not one per chunk: at most the pool's size (how many sets are held at once depends on when
    # the prefetch thread drops the previous chunk, which a loaded machine makes later).
    assert a.buffers.allocated <= a.buffers.POOL
    pool.shutdown()
    a.close(), b.close()


def test_training_uses_one_prefetch_thread_pool_and_shuts_it_down(tiny_data, tmp_path, monkeypatch):
    pools = []

    class Recorded(bptt.ThreadPoolExecutor):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            pools.append(self)

    monkeypatch.setattr(bptt, "ThreadPoolExecutor", Recorded)
    res = train(tiny_run_config(steps=4, checkpoint_every=100), tiny_data, tmp_path / "run")
    assert res.step == res.steps_run == 4
    assert len(pools) == 1 and pools[0]._shutdown
