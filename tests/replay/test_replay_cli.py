"""`sessionforge replay`: summary, JSON, --show, config/--set, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from gitfactory import RepoFactory

from sessionforge.cli import cli
from sessionforge.formats import open_shard


def _repo(tmp_path):
    f = RepoFactory(tmp_path / "repo")
    f.commit({"hello.py": "print('hi')\n", "img.bin": b"\x00\x01"}, "one")
    f.commit({"hello.py": "print('hello')\r\n"}, "two")
    f.commit({"notes.md": "# notes\n"}, "three")
    return f


def test_json_summary_and_shard(tmp_path):
    f = _repo(tmp_path)
    out = tmp_path / "o" / "repo.tss"
    res = CliRunner().invoke(cli, ["replay", str(f.path), "--out", str(out), "--json", "--codec", "zstd",
                                   "--max-commits", "2", "--frame-size", "24x80"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["commits"] == 2 and s["files"] == 2 and s["skipped"] == {"binary": 1}
    assert s["lossless_failures"] == [] and s["rows"] == 24 and s["cols"] == 80
    assert s["frames"] > 20 and s["bytes_per_frame"] > 0 and s["frames_per_s"] > 0
    with open_shard(out) as r:
        assert (r.rows, r.cols, r.codec) == (24, 80, "zstd")
        assert sum(i.frames for i in r.sessions) == s["frames"]


def test_table_show_config_and_set(tmp_path):
    f = _repo(tmp_path)
    cfg = tmp_path / "replay.yaml"
    cfg.write_text("exclude: ['*.md']\nrows: 30\n")
    out = tmp_path / "repo.tss"
    res = CliRunner().invoke(cli, ["replay", str(f.path), "-o", str(out), "--config", str(cfg),
                                   "--set", "cols=90", "--show", "2"])
    assert res.exit_code == 0, res.output
    assert "frames/s" in res.output and "excluded=1" in res.output and "binary=1" in res.output
    assert res.output.count("--- session 0 frame") == 2
    assert "hello" in res.output          # the last shown frame has the file on screen
    with open_shard(out) as r:
        assert (r.rows, r.cols) == (30, 90)


def test_bad_input_is_one_line(tmp_path):
    res = CliRunner().invoke(cli, ["replay", str(tmp_path / "nope"), "--out", str(tmp_path / "x.tss")])
    assert res.exit_code != 0
    proc = subprocess.run([sys.executable, "-m", "sessionforge.cli", "replay", str(tmp_path), "--out",
                           str(tmp_path / "x.tss"), "--set", "bogus=1"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "bogus" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "sessionforge.cli", "replay", str(tmp_path), "--out",
                           str(tmp_path / "x.tss")], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("error:") and "not a git repository" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "x.tss").exists()


def test_lossless_failure_exits_3(tmp_path, monkeypatch):
    from sessionforge.replay import planner

    f = _repo(tmp_path)
    monkeypatch.setattr(planner.Planner, "save", lambda self: None)
    res = CliRunner().invoke(cli, ["replay", str(f.path), "--out", str(tmp_path / "o.tss")])
    assert res.exit_code == 3
    assert "lossless failure" in res.output


def test_bad_options_are_rejected(tmp_path):
    f = _repo(tmp_path)
    for args in (["--frame-size", "48by160"], ["--frame-size", "4x10"], ["--set", "typo_rate=2"],
                 ["--set", "max_commits=0"], ["--codec", "gzip"]):
        res = CliRunner().invoke(cli, ["replay", str(f.path), "--out", str(tmp_path / "o.tss"), *args])
        assert res.exit_code != 0, args
    assert not (tmp_path / "o.tss").exists()
