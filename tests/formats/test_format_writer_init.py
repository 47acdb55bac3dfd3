"""A ShardWriter whose constructor fails (header write) leaves no temporary file and no thread pool."""

from __future__ import annotations

import errno
import os

import pytest

from sessionforge.formats import ShardWriter
from sessionforge.formats import writer as writer_mod


@pytest.mark.parametrize("threads", [True, False])
def test_failed_header_write_leaves_nothing_behind(tmp_path, monkeypatch, threads):
    pools = []

    class Recorded(writer_mod.ThreadPoolExecutor):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            pools.append(self)

    def disk_full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer_mod, "ThreadPoolExecutor", Recorded)
    monkeypatch.setattr(ShardWriter, "_write", disk_full)
    with pytest.raises(OSError, match="No space"):
        ShardWriter(tmp_path / "x.tss", 4, 6, threads=threads)
    assert os.listdir(tmp_path) == []  # no .x.tss.tmp-* left
    assert len(pools) == int(threads) and all(p._shutdown for p in pools)
