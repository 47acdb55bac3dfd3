"""The shard loader: windows match the shards, determinism, resume equality, rank split, errors."""

from __future__ import annotations

import pytest
import torch

from sessionforge.formats import open_shard
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.dataset.windows import make_units
from sessionforge.train.loader import StreamLoader
from sessionforge.dataset import DatasetError, ShardSet
from synth import write_synthetic_shard

TOK = ActionTokenizer([b"return ", b"def "])


def _loader(data, **kw) -> StreamLoader:
    args = dict(window=12, batch=3, stream_windows=2, seed=0)
    args.update(kw)
    return StreamLoader(ShardSet(data), TOK, **args)


def _take(loader: StreamLoader, n: int) -> list[tuple]:
    out = []
    for _ in range(n):
        w = loader.next_window()
        x = w.frames(0, w.length)
        out.append((w.streams, x.chars.clone(), x.cursor.clone(), w.targets().clone(), w.reset.clone()))
    return out


def _same(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for (s1, c1, k1, t1, r1), (s2, c2, k2, t2, r2) in zip(a, b):
        assert s1 == s2
        assert torch.equal(c1, c2) and torch.equal(k1, k2) and torch.equal(t1, t2) and torch.equal(r1, r2)


def test_window_chunks_equal_the_shard_frames_and_targets_follow_the_tokenizer(tiny_data):
    loader = _loader(tiny_data, workers=2)
    w = loader.next_window()
    parts = [w.frames(0, 5), w.frames(5, 12)]  # chunk by chunk, as the streaming step reads
    chars = torch.cat([p.chars for p in parts])  # (L, B, R, C)
    targets = w.targets()
    for b, (ref, first) in enumerate(w.streams):
        fr = open_shard(loader.shards.paths[ref.shard]).read_frames(ref.session, first, first + 13)
        assert torch.equal(chars[:, b], torch.from_numpy(fr.chars[:12].astype("int32")))
        want, _ = TOK.frame_targets([fr.action(t) for t in range(13)])
        assert torch.equal(targets[:, b], torch.from_numpy(want))
    assert w.palette.shape == (3, 256, 3)
    loader.close()


def test_same_seed_same_windows_other_seed_other_windows(tiny_data):
    _same(_take(_loader(tiny_data), 4), _take(_loader(tiny_data), 4))
    a = [s for s, *_ in _take(_loader(tiny_data, seed=1), 4)]
    b = [s for s, *_ in _take(_loader(tiny_data, seed=2), 4)]
    assert a != b


def test_resume_continues_with_exactly_the_same_windows(tiny_data):
    first = _loader(tiny_data)
    _take(first, 5)
    state = first.state_dict()
    expected = _take(first, 7)  # crosses unit and epoch boundaries
    resumed = _loader(tiny_data)
    resumed.load_state_dict(state)
    _same(_take(resumed, 7), expected)


def test_load_state_dict_refuses_other_settings(tiny_data):
    state = _loader(tiny_data).state_dict()
    with pytest.raises(DatasetError, match="window"):
        _loader(tiny_data, window=10).load_state_dict(state)


def test_streams_and_ranks_never_share_a_unit_within_an_epoch(tiny_data):
    units = make_units(ShardSet(tiny_data).sessions, 12, 2)
    owners = {}
    for rank in range(2):
        ld = _loader(tiny_data, batch=2, rank=rank, world=2)
        for b in range(2):
            for u in ld._epoch_units(rank * 2 + b, 0):
                assert u not in owners, "unit assigned twice"
                owners[int(u)] = (rank, b)
    assert sorted(owners) == list(range(len(units)))
    # Windows of a stream walk a unit in order and reset only at a unit's start.
    ld = _loader(tiny_data, batch=1)
    starts = [(w.streams[0], bool(w.reset[0])) for w in (ld.next_window() for _ in range(4))]
    assert starts[0][1] and not starts[1][1] and starts[2][1]
    assert starts[1][0][1] == starts[0][0][1] + 12


def test_errors_name_the_problem(tiny_data, tmp_path):
    with pytest.raises(DatasetError, match="stream units"):
        _loader(tiny_data, window=100, batch=8)
    with pytest.raises(DatasetError, match="no .*shards"):
        ShardSet(tmp_path)
    write_synthetic_shard(tmp_path / "big.tss", sessions=1, frames=20, rows=16, cols=32)
    with pytest.raises(DatasetError, match="16x32"):
        ShardSet([tiny_data / "shards" / "a.tss", tmp_path / "big.tss"])
    with pytest.raises(DatasetError, match="model expects 48x160"):
        ShardSet(tiny_data).check_frame_size(48, 160)
