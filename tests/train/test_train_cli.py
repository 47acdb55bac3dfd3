"""``sessionforge train`` from the command line: runs, resumes, and fails in one clear line."""

from __future__ import annotations

import json

import pytest
import yaml

from sessionforge.cli import main
from sessionforge.config import to_dict
from sessionforge.model.tokenizer import ActionTokenizer
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


def test_a_bad_set_value_names_the_option_it_came_from(tiny_data, tmp_path, config_file, capsys):
    run = tmp_path / "r"
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(run),
                      "--set", "train.window=abc"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: --set train.window=abc: train.window: expected an integer, got 'abc'"), err
    assert not run.exists()
    # A bad value in the file is reported as the file's.
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_file.read_text().replace("window: 12", "window: twelve"))
    code, err = _run(["train", "--config", str(bad), "--data", str(tiny_data), "--out", str(run)], capsys)
    assert code == 1 and err.startswith(f"error: {bad}: train.window: expected an integer"), err


def test_the_saved_config_records_the_tokenizer_given(tiny_data, tmp_path, config_file, capsys, monkeypatch):
    tok = ActionTokenizer([b"def ", b"return ", b"self.x"])
    (tmp_path / "tok.json").write_text(json.dumps(tok.to_dict()))
    monkeypatch.chdir(tmp_path)  # a relative path is recorded as the file it names
    run = tmp_path / "run"
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(run),
                      "--tokenizer", "tok.json", "--no-progress"], capsys)
    assert code == 0, err
    saved = yaml.safe_load((run / "config.yaml").read_text())["tokenizer"]
    assert saved["path"] == str(tmp_path / "tok.json")
    assert saved["vocab"] == tok.vocab_size != tiny_run_config().tokenizer.vocab  # not the config's 420
    assert json.loads((run / "tokenizer.json").read_text()) == tok.to_dict()
    ckpt_cfg = yaml.safe_load((run / "checkpoints" / "step_00000002" / "config.yaml").read_text())
    assert ckpt_cfg["tokenizer"] == saved
    # Resuming with the same file (here through --set) is the same run; another file is refused.
    code, err = _run(["train", "--data", str(tiny_data), "--out", str(run), "--resume", "--set", "train.steps=3",
                      "--set", f"tokenizer.path={tmp_path / 'tok.json'}", "--no-progress"], capsys)
    assert code == 0, err
    other = ActionTokenizer([b"def "])
    (tmp_path / "other.json").write_text(json.dumps(other.to_dict()))
    code, err = _run(["train", "--data", str(tiny_data), "--out", str(run), "--resume", "--set", "train.steps=4",
                      "--tokenizer", "other.json", "--no-progress"], capsys)
    assert code == 1
    assert f"tokenizer.path: {tmp_path / 'tok.json'} saved, {tmp_path / 'other.json'} now" in err
    assert f"tokenizer.vocab: {tok.vocab_size} saved, {other.vocab_size} now" in err


def test_a_built_tokenizer_keeps_the_size_it_was_built_with(tiny_data, tmp_path, config_file, capsys):
    run = tmp_path / "run"
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(run),
                      "--no-progress"], capsys)
    assert code == 0, err
    saved = yaml.safe_load((run / "config.yaml").read_text())["tokenizer"]
    built = ActionTokenizer.load(run / "tokenizer.json")
    assert saved["path"] is None and saved["vocab"] == 420 >= built.vocab_size
    # The original config file resumes the run (its tokenizer section is the saved one).
    code, err = _run(["train", "--config", str(config_file), "--data", str(tiny_data), "--out", str(run),
                      "--resume", "--set", "train.steps=3", "--no-progress"], capsys)
    assert code == 0, err
