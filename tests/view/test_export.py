"""export: asciicast v2 and v3 validity, acceptance by the real asciinema (2.x), exact frame reproduction;
text format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from viewkit import PALETTE, assert_cast_reproduces, cast_size, event_times_us, read_cast, run_cli

from sessionforge.formats import frame_text, open_shard


def stored(shard: Path, session: int, start: int = 0, stop: int | None = None):
    with open_shard(shard) as r:
        stop = r.sessions[session].frames if stop is None else stop
        f = r.read_frames(session, start, stop)
        return [(f.chars[i].copy(), f.fg[i].copy(), f.bg[i].copy(), f.attrs[i].copy(), f.cursor[i].copy())
                for i in range(stop - start)], [f.action(i) for i in range(stop - start)]


def assert_reproduces(cast: Path, frames, fps: float, palette=PALETTE):
    assert_cast_reproduces(cast, frames, palette, fps)


def check_asciicast_v2(path: Path) -> tuple[dict, list]:
    """Validate the asciicast v2 structure: header fields, event shapes and order."""
    header, events = read_cast(path)
    assert header["version"] == 2
    assert isinstance(header["width"], int) and header["width"] > 0
    assert isinstance(header["height"], int) and header["height"] > 0
    assert isinstance(header.get("env", {}), dict)
    last = 0.0
    for ev in events:
        assert isinstance(ev, list) and len(ev) == 3, ev
        t, kind, data = ev
        assert isinstance(t, (int, float)) and t >= last, (t, last)
        assert kind in ("o", "i", "m") and isinstance(data, str)
        last = t
    return header, events


def test_cast_is_valid_v2_and_reproduces_every_frame(synth_shard, tmp_path, capsys):
    out = tmp_path / "s0.cast"
    code, err = run_cli(["export", synth_shard, "--session", "0", "-o", out], capsys)
    assert code == 0, err
    header, events = check_asciicast_v2(out)
    frames, actions = stored(synth_shard, 0)
    assert (header["width"], header["height"]) == (16, 6)
    assert [e[2] for e in events if e[1] == "i"] == [a.decode("utf-8", "replace") for a in actions if a]
    # Markers from the session meta: frame 0 -> src/main.c, frame 30 -> docs/读我.md.
    assert [(e[0], e[2]) for e in events if e[1] == "m"] == [(0.0, "aaaaaaaaaa src/main.c"),
                                                             (1.0, "bbbbbbbbbb docs/读我.md")]
    assert_reproduces(out, frames, fps=30.0)


def test_real_asciinema_accepts_the_cast(synth_shard, tmp_path, capsys):
    out = tmp_path / "s1.cast"
    assert run_cli(["export", synth_shard, "-s", "1", "-o", out, "--fps", "50"], capsys)[0] == 0
    asciinema = Path(sys.executable).with_name("asciinema")
    res = subprocess.run([str(asciinema), "cat", str(out)], capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    _, events = read_cast(out)
    assert res.stdout.decode("utf-8") == "".join(e[2] for e in events if e[1] == "o")
    # `asciinema play` (no keyboard when stdin is not a terminal) replays the same bytes.
    res = subprocess.run([str(asciinema), "play", "-s", "1000", str(out)], stdin=subprocess.DEVNULL,
                         capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout.decode("utf-8") == "".join(e[2] for e in events if e[1] == "o")


def test_frame_range_and_fps(synth_shard, tmp_path, capsys):
    out = tmp_path / "range.cast"
    code, err = run_cli(["export", synth_shard, "-s", "0", "--frames", "20:50", "--fps", "7",
                         "--no-input", "--no-markers", "-o", out], capsys)
    assert code == 0, err
    _, events = check_asciicast_v2(out)
    assert {e[1] for e in events} == {"o"}
    assert max(e[0] for e in events) <= round(29 / 7, 6)
    frames, _ = stored(synth_shard, 0, 20, 50)
    assert_reproduces(out, frames, fps=7.0)


def check_asciicast_v3(path: Path) -> tuple[dict, list]:
    """Validate asciicast v3 as docs.asciinema.org/manual/asciicast/v3 documents it: a header with
    version 3 and a term block; events [interval, code, data] with non-negative intervals; one exit
    event, last."""
    header, events = read_cast(path)
    assert header["version"] == 3
    term = header["term"]
    assert isinstance(term["cols"], int) and term["cols"] > 0
    assert isinstance(term["rows"], int) and term["rows"] > 0
    assert isinstance(term.get("type", ""), str)
    assert "width" not in header and "height" not in header  # v2's names
    for ev in events:
        assert isinstance(ev, list) and len(ev) == 3, ev
        interval, code, data = ev
        assert isinstance(interval, (int, float)) and interval >= 0, ev
        assert code in ("o", "i", "m", "x") and isinstance(data, str)
    assert [e[1] for e in events].count("x") == 1 and events[-1][1:] == ["x", "0"]
    return header, events


@pytest.mark.parametrize("args, fps, first, stop", [([], 30.0, 0, None),
                                                     (["--frames", "20:50", "--fps", "7"], 7.0, 20, 50)])
def test_v3_cast_has_v2_timeline_as_intervals_and_reproduces_every_frame(synth_shard, tmp_path, capsys,
                                                                           args, fps, first, stop):
    v2, v3 = tmp_path / "v2.cast", tmp_path / "v3.cast"
    assert run_cli(["export", synth_shard, "-s", "0", *args, "-o", v2], capsys)[0] == 0
    code, err = run_cli(["export", synth_shard, "-s", "0", *args, "--format", "asciicast-v3", "-o", v3], capsys)
    assert code == 0, err
    h2, e2 = check_asciicast_v2(v2)
    h3, e3 = check_asciicast_v3(v3)
    assert cast_size(h3) == cast_size(h2) == (16, 6) and h3["term"]["type"] == h2["env"]["TERM"]
    body = e3[:-1]
    assert [e[1:] for e in body] == [e[1:] for e in e2]          # the same events in the same order
    times = event_times_us(h3, e3)
    assert times[:-1] == event_times_us(h2, e2)                  # intervals add up to v2's absolute times
    assert any(e[0] != t / 1e6 for e, t in zip(body, times))     # ... and are not absolute times themselves
    frames, _ = stored(synth_shard, 0, first, stop)
    assert times[-1] == round(len(frames) * 1_000_000 / fps)     # exit: the last frame shown for 1/fps
    assert_reproduces(v3, frames, fps=fps)


def test_range_inside_a_file_is_labelled(synth_shard, tmp_path, capsys):
    out = tmp_path / "mid.cast"
    assert run_cli(["export", synth_shard, "--frames", "10:40", "-o", out], capsys)[0] == 0
    _, events = check_asciicast_v2(out)
    assert [(e[0], e[2]) for e in events if e[1] == "m"] == [(0.0, "aaaaaaaaaa src/main.c"),
                                                             (round(20 / 30, 6), "bbbbbbbbbb docs/读我.md")]


def test_text_export(synth_shard, tmp_path, capsys):
    out = tmp_path / "frames.txt"
    assert run_cli(["export", synth_shard, "-s", "0", "--format", "text", "--frames", "28:33", "-o", out],
                   capsys)[0] == 0
    lines = out.read_text(encoding="utf-8").split("\n")
    heads = [i for i, line in enumerate(lines) if line.startswith("=== frame ")]
    assert [lines[i].split()[2] for i in heads] == ["28", "29", "30", "31", "32"]
    assert "src/main.c" in lines[heads[0]] and "读我" in lines[heads[2]]  # markers switch at 30
    frames, _ = stored(synth_shard, 0, 28, 33)
    for h, frame in zip(heads, frames):
        assert lines[h + 1 : h + 7] == frame_text(frame[0], frame[3])  # chars, attrs
    # Wide characters take one text position per character, not two.
    assert frame_text([[0x4E2D, 0, ord("a"), 32]]) == ["中a"]


@pytest.mark.parametrize("index_col, shard_name", [("session", "shards/part-0.tss"), ("index", "part-0.tss")])
def test_dataset_dir_lookup_by_manifest_id(synth_shard, tmp_path, capsys, index_col, shard_name):
    # build-dataset writes the in-shard index as `index` and the shard as a bare file name.
    data = tmp_path / "data"
    (data / "shards").mkdir(parents=True)
    (data / "shards" / "part-0.tss").write_bytes(synth_shard.read_bytes())
    pl.DataFrame({"id": ["repoA/0", "repoA/1", "bad"], "shard": [shard_name, shard_name, None],
                  index_col: [0, 1, None]}).write_parquet(data / "manifest.parquet")
    out = tmp_path / "byid.cast"
    assert run_cli(["export", data, "--session", "repoA/1", "-o", out], capsys)[0] == 0
    frames, _ = stored(synth_shard, 1)
    assert_reproduces(out, frames, fps=30.0)
    code, err = run_cli(["export", data, "--session", "nope", "-o", out], capsys)
    assert code == 1 and err.startswith("error: ") and "nope" in err and err.count("\n") == 1
    (data / "manifest.parquet").unlink()  # fallback: shards/*.tss, sessions numbered in order
    assert run_cli(["export", data, "--session", "1", "-o", out], capsys)[0] == 0
    assert_reproduces(out, frames, fps=30.0)


@pytest.mark.parametrize("args, needle", [
    (["--session", "7"], "out of range"),
    (["--frames", "30:10"], "empty range"),
    (["--frames", "x:3"], "integers"),
    (["--fps", "0"], "--fps"),
])
def test_bad_input_is_one_line_error(synth_shard, tmp_path, capsys, args, needle):
    code, err = run_cli(["export", synth_shard, "-o", tmp_path / "x.cast", *args], capsys)
    assert code == 1 and err.startswith("error: ") and needle in err, err


def test_corrupt_shard_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.tss"
    bad.write_bytes(b"not a shard at all" * 10)
    code, err = run_cli(["export", bad, "-o", tmp_path / "x.cast"], capsys)
    assert code == 1 and err.startswith("error: ") and "bad.tss" in err, err
