"""A real replayed session (git -> editor -> pyte -> shard) exports to a cast that pyte
reproduces exactly, and renders / plays through the same code paths."""

from __future__ import annotations

import numpy as np
from gitfactory import RepoFactory
from viewkit import assert_cast_reproduces, read_cast, run_cli

from sessionforge.formats import ShardWriter, open_shard
from sessionforge.replay import ReplayConfig, replay_repository


def test_replayed_session_round_trips_through_asciicast(tmp_path, capsys):
    f = RepoFactory(tmp_path / "repo")
    f.commit({"main.c": "int main() {\n  return 0;\n}\n",
              "README.md": "# 读我 notes\nwide 世界 emoji 😀 tab\there\nctrl \x1b[31m esc\r\n"}, "init")
    f.commit({"main.c": "int main() {\n  int x = 42;\n  return x;\n}\n", "README.md": None}, "edit")
    cfg = ReplayConfig(rows=10, cols=40)
    shard = tmp_path / "real.tss"
    with ShardWriter(shard, rows=cfg.rows, cols=cfg.cols, codec="zstd") as w:
        stats = replay_repository(str(tmp_path / "repo"), cfg, w)
    assert stats.frames > 50 and not stats.lossless_failures

    cast = tmp_path / "real.cast"
    code, err = run_cli(["export", shard, "-o", cast, "--fps", "100"], capsys)
    assert code == 0, err
    with open_shard(shard) as r:
        info = r.sessions[0]
        f0 = r.read_session(0)
        frames = [(f0.chars[i], f0.fg[i], f0.bg[i], f0.attrs[i], f0.cursor[i]) for i in range(len(f0))]
    assert info.meta.get("markers"), "replay records commit/file markers"
    assert (f0.chars == 0x4E16).any()  # the wide character really is on screen somewhere
    assert_cast_reproduces(cast, frames, info.palette, fps=100.0)
    _, events = read_cast(cast)
    assert sum(e[1] == "i" for e in events) == sum(1 for i in range(len(f0)) if f0.action(i))

    out = tmp_path / "png"
    code, err = run_cli(["render", shard, "--sheet", "4", "-o", out], capsys)
    assert code == 0, err
    assert (out / "real.tss_0-sheet.png").stat().st_size > 1000
    assert np.any(f0.cursor[:, 2] == 1)
