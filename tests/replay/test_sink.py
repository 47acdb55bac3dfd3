"""FrameSink: the writers replay is given have the shape replay calls (checked statically)."""

from __future__ import annotations

import inspect

from sessionforge.formats import ShardWriter
from sessionforge.replay import FrameSink

METHODS = ("begin_session", "add_frame", "end_session")


def shape_problems(cls: type) -> list[str]:
    """Why instances of ``cls`` could not take replay's calls; [] when they can.

    For each FrameSink method: ``cls`` defines it, and its signature binds the Protocol's
    positional arguments (replay passes them all positionally).
    """
    problems = []
    for name in METHODS:
        want = [p for p in inspect.signature(getattr(FrameSink, name)).parameters.values() if p.name != "self"]
        have = getattr(cls, name, None)
        if not callable(have):
            problems.append(f"{cls.__name__} has no method {name}")
            continue
        try:
            inspect.signature(have).bind(object(), *[None] * len(want))  # object(): self
        except TypeError as exc:
            problems.append(f"{cls.__name__}.{name} cannot take {len(want)} positional arguments: {exc}")
    return problems


def test_protocol_is_what_replay_calls():
    for name in METHODS:
        params = list(inspect.signature(getattr(FrameSink, name)).parameters.values())[1:]
        assert all(p.kind is p.POSITIONAL_ONLY for p in params), name  # so implementers may name them freely
    assert [len(inspect.signature(getattr(FrameSink, n)).parameters) - 1 for n in METHODS] == [2, 7, 1]


def test_shard_writer_is_a_frame_sink(tmp_path):
    assert shape_problems(ShardWriter) == []
    with ShardWriter(tmp_path / "x.tss", rows=4, cols=24) as w:
        assert isinstance(w, FrameSink)


class _StarSink:  # the shape of the test and bench sinks that only count
    def begin_session(self, meta, palette): ...
    def add_frame(self, *args): ...
    def end_session(self, extra=None): ...


class _NoEnd:
    def begin_session(self, meta, palette): ...
    def add_frame(self, chars, fg, bg, attrs, cursor, action, changed=None): ...


class _ShortAdd(_StarSink):
    def add_frame(self, chars, fg, bg, attrs, cursor, action): ...  # no `changed`


def test_shape_check_tells_good_from_bad():
    assert shape_problems(_StarSink) == [] and isinstance(_StarSink(), FrameSink)
    assert shape_problems(_NoEnd) == ["_NoEnd has no method end_session"]
    assert not isinstance(_NoEnd(), FrameSink)
    [problem] = shape_problems(_ShortAdd)
    assert problem.startswith("_ShortAdd.add_frame cannot take 7 positional arguments")



def test_the_pipelines_sinks_are_frame_sinks():
    from sessionforge.pipeline.replay_slice import RotatingSink
    from sessionforge.pipeline.verify import CompareSink

    assert shape_problems(RotatingSink) == [] and shape_problems(CompareSink) == []
