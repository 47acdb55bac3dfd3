"""``sessionforge inspect``: tables, JSON, one frame as text, one-line errors for bad shards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from sessionforge.cli import cli, main
from sessionforge.formats import ATTR_WIDE, ShardWriter


@pytest.fixture
def shard(tmp_path):
    path = tmp_path / "demo.tss"
    R, C = 3, 12
    z = np.zeros((R, C), np.uint8)
    with ShardWriter(path, R, C, codec="zstd") as w:
        for s in range(2):
            w.begin_session({"repo": f"repo{s}", "first_commit": "0123456789abcdef", "note": b"\x01"}, [0, 0xFFFFFF])
            for t in range(5 + s):
                ch = np.full((R, C), 32, np.uint32)
                text = f"frame {t} s{s}"
                ch[1, : len(text)] = [ord(c) for c in text]
                ch[2, 0], ch[2, 1], ch[2, 2] = 0x4E2D, 0, ord("x")  # a wide char and its right half
                attrs = z.copy()
                attrs[2, 0] = ATTR_WIDE
                w.add_frame(ch, z, z, attrs, (1, 3, True), b"k%d" % t)
            w.end_session({"last_commit": "fedcba9876543210"})
    return path


def test_table(shard):
    res = CliRunner().invoke(cli, ["inspect", str(shard)])
    assert res.exit_code == 0, res.output
    assert "codec zstd" in res.output and "3x12" in res.output
    assert "session 1: repo=repo1 first_commit=0123456789 last_commit=fedcba9876" in res.output
    total = next(line for line in res.output.splitlines() if "total (2)" in line)
    assert "11" in total  # total frames


def test_json(shard):
    res = CliRunner().invoke(cli, ["inspect", str(shard), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["codec"] == "zstd" and (info["rows"], info["cols"]) == (3, 12)
    assert [s["frames"] for s in info["sessions"]] == [5, 6]
    assert info["sessions"][1]["meta"]["last_commit"] == "fedcba9876543210"
    assert info["sessions"][0]["meta"]["note"] == {"hex": "01"}
    assert info["totals"]["frames"] == 11
    assert info["totals"]["bytes_per_frame"] == pytest.approx(shard.stat().st_size / 11, abs=1e-3)


def test_frame_as_text_with_cursor_marker(shard):
    res = CliRunner().invoke(cli, ["inspect", str(shard), "--frame", "4", "--session", "1"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "cursor row 1, col 3 (visible)" in res.output and "'k4'" in res.output
    i = lines.index("|frame 4 s1  |")
    assert lines[i + 1] == " " + " " * 3 + "^ cursor"  # not a TTY: a marker line under the cursor cell
    assert "|中x" in res.output  # the wide char's right half is not printed


def test_frame_json(shard):
    res = CliRunner().invoke(cli, ["inspect", str(shard), "--json", "--frame", "0"])
    frame = json.loads(res.output)["frame"]
    assert frame["lines"][1].startswith("frame 0 s0") and frame["cursor"] == {"row": 1, "col": 3, "visible": True}


def test_frame_out_of_range(shard):
    res = CliRunner().invoke(cli, ["inspect", str(shard), "--frame", "99"])
    assert res.exit_code == 2 and "out of range" in res.output


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_bad_shard_is_one_line_error(tmp_path, shard, capsys, damage):
    bad = tmp_path / "bad.tss"
    if damage == "garbage":
        bad.write_bytes(b"not a shard at all, sorry" * 4)
    elif damage == "truncated":
        bad.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(SystemExit) as exc:
        main(["inspect", str(bad)])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(bad) in err and len(err.splitlines()) == 1
