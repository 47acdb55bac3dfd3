"""What a user sees around a build: one line on Ctrl-C, errors instead of a table of zeros,
proper plurals, a clear word on a folder that never was a dataset, a quiet setup script."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from buildkit import BUILD_ARGS, make_small_repo, sf_command
from clikit import run_main

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_during_a_build_is_one_line_and_the_rerun_resumes(tmp_path):
    repos = []
    for k in range(4):
        make_small_repo(tmp_path / f"r{k}", commits=12, seed=10 + k)
        repos.append(str(tmp_path / f"r{k}"))
    out = tmp_path / "data"
    cmd = [*sf_command(), "build-dataset", *repos, "--out", str(out), "--executor", "process", "--workers", "2",
           "--slice-commits", "3", "--frame-size", "16x60", "--codec", "zstd"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    markers = out / ".build" / "done"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (markers.is_dir() and any(markers.iterdir())):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)   # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted - run the same command again to resume" in err
    assert "Traceback" not in err and "SpawnProcess" not in err and "KeyboardInterrupt" not in err, err
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert (out / "dataset.json").is_file()


def test_a_build_where_everything_failed_shows_the_errors_not_a_table(tmp_path, capsys):
    code, out, err = run_main(["build-dataset", tmp_path / "missing", "--out", tmp_path / "data", *BUILD_ARGS],
                              capsys)
    assert code == 1
    assert "build summary" not in out and "repositories ok" not in out
    assert "failed:" in err and "nothing was built" in err


def test_counts_are_pluralised(tmp_path, capsys):
    make_small_repo(tmp_path / "repo", commits=1, seed=4)
    args = [*BUILD_ARGS, "--session-frames", "1000"]           # one session: the singular is what is checked
    assert run_main(["build-dataset", tmp_path / "repo", "--out", tmp_path / "data", *args], capsys)[0] == 0
    code, out, _ = run_main(["verify", tmp_path / "data"], capsys)
    assert code == 0 and "ok: 1 shard, 1 session, " in out and " frames decoded" in out


def test_verify_on_a_folder_that_never_was_a_dataset_says_so(tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    code, _, err = run_main(["verify", tmp_path / "notes"], capsys)
    assert code == 1 and "not a sessionforge dataset" in err and "Traceback" not in err


def test_setup_script_is_silent_and_quick_when_nothing_changed():
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("the project's .venv is not set up here (tests run from another environment)")
    stamp = ROOT / ".venv" / ".sessionforge-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text().strip() != want:
        subprocess.run(["bash", "scripts/setup-venv"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    t0 = time.monotonic()
    proc = subprocess.run(["bash", "scripts/setup-venv"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    assert time.monotonic() - t0 < 10   # no pip run (an install takes far longer)
    assert stamp.read_text().strip() == want
