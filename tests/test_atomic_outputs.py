"""Outputs appear whole or not at all: export, render, tokenizer build and replay write under a
temporary name and rename when done, so an error, a full disk or Ctrl-C part-way leaves no
partial file (and keeps an existing one); replay refuses an existing --out without --force."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import run_main
from gitfactory import RepoFactory
from PIL import Image
from view.viewkit import synthetic_frames, write_shard

from sessionforge.formats import FormatError, ShardWriter, open_shard

ROWS, COLS = 6, 16
OLD = b"an older, complete output\n"


@pytest.fixture(scope="module")
def shard(tmp_path_factory) -> Path:
    """One session of 40 pyte frames with actions and a commit/file marker."""
    path = tmp_path_factory.mktemp("atomic") / "s.tss"
    return write_shard(path, [synthetic_frames(ROWS, COLS, 40, seed=3)], ROWS, COLS,
                       meta={"markers": [[0, "a" * 40, "x.c"]]})


def corrupt_copy(shard: Path, dest: Path) -> Path:
    """``shard`` with one byte of its frame block flipped: it opens, its frames do not decode."""
    data = bytearray(shard.read_bytes())
    data[len(data) // 3] ^= 0xFF  # past the file header, before the index at the end
    dest.write_bytes(bytes(data))
    with open_shard(dest) as r:  # the test's premise: the failure comes after writing begins
        with pytest.raises(FormatError):
            r.read_frames(0, 0, r.sessions[0].frames)
    return dest


# ---------------------------------------------------------------- export


@pytest.mark.parametrize("fmt", ["asciicast", "asciicast-v3", "text"])
def test_export_of_a_corrupt_shard_leaves_no_file_and_keeps_an_old_one(shard, tmp_path, capsys, fmt):
    bad = corrupt_copy(shard, tmp_path / "bad.tss")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "x.cast"
    code, _, err = run_main(["export", bad, "--format", fmt, "-o", out], capsys)
    assert code == 1 and err.startswith("error: ") and "bad.tss" in err and err.count("\n") == 1, err
    assert os.listdir(out_dir) == []  # not even a header-only file
    out.write_bytes(OLD)
    assert run_main(["export", bad, "--format", fmt, "-o", out], capsys)[0] == 1
    assert os.listdir(out_dir) == ["x.cast"] and out.read_bytes() == OLD


@pytest.mark.parametrize("fmt", ["asciicast", "asciicast-v3", "text"])
def test_ctrl_c_mid_export_leaves_no_partial_file(shard, tmp_path, capsys, monkeypatch, fmt):
    import sessionforge.view.export as export

    real, calls = export.frame_action, []

    def frame_action(block, i):  # every format asks for each frame's action: Ctrl-C at frame 20
        calls.append(i)
        if len(calls) == 20:
            raise KeyboardInterrupt
        return real(block, i)

    monkeypatch.setattr(export, "frame_action", frame_action)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, _ = run_main(["export", shard, "--format", fmt, "-o", out_dir / "x.cast"], capsys)
    assert code == 130 and len(calls) == 20
    assert os.listdir(out_dir) == []


# ---------------------------------------------------------------- render


def failing_png_save(monkeypatch, exc: BaseException, ok_first: int = 0) -> list[int]:
    """Make PNG saves write half an image, then raise ``exc`` (after ``ok_first`` good saves)."""
    from PIL import PngImagePlugin  # noqa: F401  registered before we replace it

    real, calls = Image.SAVE["PNG"], []

    def save(im, fp, filename):
        calls.append(1)
        if len(calls) <= ok_first:
            return real(im, fp, filename)
        whole = io.BytesIO()
        real(im, whole, filename)
        fp.write(whole.getvalue()[: len(whole.getvalue()) // 2])
        fp.flush()
        raise exc

    monkeypatch.setitem(Image.SAVE, "PNG", save)
    return calls


def test_ctrl_c_while_a_png_is_written_leaves_only_the_finished_ones(shard, tmp_path, capsys, monkeypatch):
    calls = failing_png_save(monkeypatch, KeyboardInterrupt(), ok_first=1)
    out = tmp_path / "png"
    code, _, _ = run_main(["render", shard, "--frames", "0,5,10", "-o", out], capsys)
    assert code == 130 and len(calls) == 2
    names = os.listdir(out)
    assert names == ["s.tss_0-000000.png"]  # frame 0 whole; frame 5 not at all
    with Image.open(out / names[0]) as im:
        im.verify()


def test_a_failed_png_save_keeps_the_existing_image(shard, tmp_path, capsys, monkeypatch):
    out = tmp_path / "png"
    out.mkdir()
    (out / "s.tss_0-000000.png").write_bytes(OLD)
    (out / "s.tss_0-sheet.png").write_bytes(OLD)
    failing_png_save(monkeypatch, OSError(28, "No space left on device"))
    for args in (["--frames", "0"], ["--sheet", "3"]):
        code, _, err = run_main(["render", shard, *args, "-o", out], capsys)
        assert code == 1 and err.startswith("error: ") and "No space left" in err, err
    assert sorted(os.listdir(out)) == ["s.tss_0-000000.png", "s.tss_0-sheet.png"]
    assert (out / "s.tss_0-000000.png").read_bytes() == OLD and (out / "s.tss_0-sheet.png").read_bytes() == OLD


# ---------------------------------------------------------------- tokenizer build


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses RLIMIT_FSIZE to fill the 'disk'")
def test_tokenizer_build_that_runs_out_of_space_keeps_the_old_tokenizer(shard, tmp_path):
    out = tmp_path / "tok.json"
    cmd = [sys.executable, "-m", "sessionforge.cli", "tokenizer", "build", str(shard), "-o", str(out),
           "--vocab", "400"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    limit = out.stat().st_size // 2
    out.write_bytes(OLD)

    def small_disk() -> None:  # in the child: any file grows to `limit` bytes, then writes fail
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG (an OSError) instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, preexec_fn=small_disk)
    assert full.returncode == 1 and "error: " in full.stderr and "File too large" in full.stderr, full.stderr
    assert os.listdir(tmp_path) == ["tok.json"] and out.read_bytes() == OLD


# ---------------------------------------------------------------- replay


def _repo(tmp_path: Path) -> RepoFactory:
    f = RepoFactory(tmp_path / "repo")
    f.commit({"hello.py": "def hello():\n    print('hello, world')\n"}, "one")
    f.commit({"other.py": "X = [1, 2, 3]\nY = {'a': X}\n"}, "two")
    return f


def test_replay_refuses_an_existing_out_unless_forced(tmp_path, capsys, monkeypatch):
    import sessionforge.replay as replay

    f = _repo(tmp_path)
    out = tmp_path / "out.tss"
    out.write_bytes(OLD)
    real, ran = replay.replay_repository, []
    monkeypatch.setattr(replay, "replay_repository", lambda *a, **k: ran.append(1) or real(*a, **k))
    code, _, err = run_main(["replay", f.path, "--out", out], capsys)
    assert code == 1 and err.startswith("error: --out") and "--force" in err and err.count("\n") == 1, err
    assert out.read_bytes() == OLD and not ran  # refused before replaying
    code, _, err = run_main(["replay", f.path, "--out", out, "--force"], capsys)
    assert code == 0, err
    with open_shard(out) as r:
        assert sum(s.frames for s in r.sessions) > 0


@pytest.mark.parametrize("existing", [False, True], ids=["new", "forced-over-old"])
def test_ctrl_c_mid_replay_leaves_nothing_under_out(tmp_path, capsys, monkeypatch, existing):
    f = _repo(tmp_path)
    out = tmp_path / "shards" / "out.tss"
    real, frames = ShardWriter.add_frame, []

    def add_frame(self, *a, **k):
        frames.append(1)
        if len(frames) == 30:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(ShardWriter, "add_frame", add_frame)
    args = ["replay", f.path, "--out", out]
    if existing:
        out.parent.mkdir()
        out.write_bytes(OLD)
        args.append("--force")
    code, _, _ = run_main(args, capsys)
    assert code == 130 and len(frames) == 30
    assert os.listdir(out.parent) == (["out.tss"] if existing else [])
    if existing:
        assert out.read_bytes() == OLD
