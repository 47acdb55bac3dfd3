"""``sessionforge train`` from the command line: runs, resumes, and fails in one clear line."""

from __future__ import annotations

import json

import pytest
import yaml

from sessionforge.cli import main
from sessionforge.config import to_dict
from trainkit import tiny_run_config


def _run(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    return exc.value.code or 0, capsys.readouterr().err


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, checkpoint_every=1))))
    return path


def test_train_writes_run_folder_and_resumes(tiny_data, tmp_path, config_file, capsys):
    run = tmp_path / "run"
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(run),
                      "--no-progress"], capsys)
    assert code == 0, err
    assert "trained 2 steps" in err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["window"] == 12
    assert (run / "tokenizer.json").is_file()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    code, err = _run(["train", "--data", str(tiny_data), "--out", str(run), "--resume", "--set", "train.steps=3",
                      "--no-progress"], capsys)
    assert code == 0, err
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]


def test_unknown_config_key_is_one_clear_line(tiny_data, tmp_path, config_file, capsys):
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(tmp_path / "r"),
                      "--set", "train.windw=8"], capsys)
    assert code == 1
    assert err.startswith("error: ") and "unknown key" in err and "windw" in err
    assert "Traceback" not in err


def test_incompatible_frame_size_is_one_clear_line(tiny_data, tmp_path, capsys):
    code, err = _run(["train", "--config", "configs/debug.yaml", "--data", str(tiny_data), "--out",
                      str(tmp_path / "r")], capsys)
    assert code == 1
    assert "dataset frames are 8x32 but the model expects 48x160" in err and "Traceback" not in err


def test_resume_without_a_checkpoint_says_so(tiny_data, tmp_path, config_file, capsys):
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(tmp_path / "r"),
                      "--resume"], capsys)
    assert code == 1 and "no checkpoint to resume from" in err
