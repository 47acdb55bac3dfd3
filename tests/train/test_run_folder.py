"""One run per run folder: reruns are refused, --overwrite starts over, --resume keeps the config,
and checkpoint pruning stays inside the current run's lineage."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from clikit import run_main
from sessionforge.config import to_dict
from sessionforge.train import checkpoint as ckpt
from sessionforge.train.checkpoint import list_checkpoints
from sessionforge.train.loop import train
from sessionforge.train.run import SAFE_ON_RESUME, RunFolderError
from trainkit import tiny_run_config


def _config(tmp_path, name="tiny.yaml", **loop):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(to_dict(tiny_run_config(**loop))))
    return path


def _train_cli(tiny_data, run, capsys, *args):
    return run_main(["train", "--data", tiny_data, "--out", run, "--no-progress", *args], capsys)


def _snapshot(folder):
    """Every file under ``folder`` with its bytes and mtime."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _steps(run):
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def _names(run):
    return [p.name for p in list_checkpoints(run)]


def test_training_into_a_folder_that_holds_a_run_is_refused_and_leaves_it_untouched(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = _train_cli(tiny_data, run, capsys, "--config", _config(tmp_path, steps=4, checkpoint_every=2))
    assert code == 0, err
    before = _snapshot(run)
    code, _, err = _train_cli(tiny_data, run, capsys, "--config", _config(tmp_path, "other.yaml", steps=3,
                                                                          checkpoint_every=1))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "already holds a training run" in err and "--resume" in err and "--overwrite" in err
    assert _snapshot(run) == before


def test_overwrite_deletes_the_old_run_first(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = _train_cli(tiny_data, run, capsys, "--config", _config(tmp_path, steps=6, checkpoint_every=2))
    assert code == 0, err
    (run / "notes.txt").write_text("mine")  # not the run's: --overwrite leaves it alone
    code, _, err = _train_cli(tiny_data, run, capsys, "--overwrite",
                              "--config", _config(tmp_path, "new.yaml", steps=3, checkpoint_every=1))
    assert code == 0, err
    assert _steps(run) == [1, 2, 3]  # not 1..6 then 1..3
    assert _names(run) == ["step_00000001", "step_00000002", "step_00000003"]  # not the old 4 and 6
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] == 3
    assert (run / "notes.txt").read_text() == "mine"


def test_resume_and_overwrite_together_are_refused(tiny_data, tmp_path, capsys):
    code, _, err = _train_cli(tiny_data, tmp_path / "run", capsys, "--resume", "--overwrite",
                              "--config", _config(tmp_path))
    assert code == 1 and err.count("\n") == 1 and "--resume" in err and "--overwrite" in err


def test_resume_with_a_different_config_is_refused_naming_the_keys(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = _train_cli(tiny_data, run, capsys, "--config", _config(tmp_path, steps=2, checkpoint_every=1))
    assert code == 0, err
    before = _snapshot(run)
    code, _, err = _train_cli(tiny_data, run, capsys, "--resume", "--set", "model.integrator.hidden=16",
                              "--set", "train.window=10", "--set", "train.steps=4")
    assert code == 1 and err.count("\n") == 1, err
    assert "model.integrator.hidden: 8 saved, 16 now" in err and "train.window: 12 saved, 10 now" in err
    assert "train.steps" not in err.split("(a resume may change only")[0]  # a safe key is no difference
    assert _snapshot(run) == before
    # The same change through another config file is refused as well.
    code, _, err = _train_cli(tiny_data, run, capsys, "--resume",
                              "--config", _config(tmp_path, "seed.yaml", steps=4, checkpoint_every=1, seed=7))
    assert code == 1 and "train.seed: 0 saved, 7 now" in err


def test_resume_may_change_the_safe_keys(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = _train_cli(tiny_data, run, capsys, "--config", _config(tmp_path, steps=2, checkpoint_every=1))
    assert code == 0, err
    code, _, err = _train_cli(tiny_data, run, capsys, "--resume", "--set", "train.steps=6",
                              "--set", "train.log_every=2", "--set", "train.checkpoint_every=3",
                              "--set", "train.keep_checkpoints=1", "--set", "train.tensorboard=false")
    assert code == 0, err
    assert _steps(run) == [1, 2, 4, 6]
    assert _names(run) == ["step_00000006"]
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["steps"] == 6


def test_the_safe_keys_are_documented_in_help_and_readme(capsys):
    code, out, _ = run_main(["train", "--help"], capsys)
    assert code == 0
    readme = open("README.md", encoding="utf-8").read()
    training = readme.split("## Training", 1)[1].split("\n## ", 1)[0]
    for key in SAFE_ON_RESUME:
        assert key in out and key in training, key


def test_resume_drops_metrics_logged_after_the_checkpoint(tiny_data, tmp_path):
    run = tmp_path / "run"
    train(tiny_run_config(steps=5, checkpoint_every=2), tiny_data, run)
    assert _names(run) == ["step_00000002", "step_00000004", "step_00000005"]
    for p in list_checkpoints(run)[1:]:  # as if the run had died after logging step 5, saved at 2
        shutil.rmtree(p)
    res = train(tiny_run_config(steps=5, checkpoint_every=2), tiny_data, run, resume=True)
    assert _steps(run) == [1, 2, 3, 4, 5]  # not 1..5 then 3..5
    assert res.start_step == 2 and res.step == 5


def test_pruning_keeps_the_newest_of_this_lineage_across_resumes(tiny_data, tmp_path):
    run = tmp_path / "run"
    train(tiny_run_config(steps=4, checkpoint_every=1, keep_checkpoints=2), tiny_data, run)
    assert _names(run) == ["step_00000003", "step_00000004"]
    train(tiny_run_config(steps=6, checkpoint_every=1, keep_checkpoints=2), tiny_data, run, resume=True)
    assert _names(run) == ["step_00000005", "step_00000006"]
    first, second = (ckpt.checkpoint_lineage(p) for p in list_checkpoints(run))
    assert len(first) == 2 and first[1]["from_step"] == 4 and first == second


def _fake_checkpoint(run, step, lineage):
    """A complete-looking checkpoint folder (pruning only reads rank0.json)."""
    stage = ckpt.staging_dir(run, step)
    stage.mkdir(parents=True)
    (stage / "rank0.json").write_text(json.dumps({"step": step, "lineage": lineage}))
    return stage


def test_pruning_never_deletes_another_lineage_nor_what_was_just_written(tmp_path):
    run = tmp_path / "run"
    old = ckpt.new_lineage()
    for step in (20, 40, 60):  # another run's checkpoints, newer steps than ours
        _fake_checkpoint(run, step, old)
        ckpt.finalize(run, step, 5, old)
    ours = ckpt.new_lineage()
    for step in (10, 20, 30):
        _fake_checkpoint(run, step, ours)
        ckpt.finalize(run, step, 2, ours)
    # Ours: the newest 2 (20 replaced the other run's 20); theirs: untouched.
    assert _names(run) == ["step_00000020", "step_00000030", "step_00000040", "step_00000060"]
    assert ckpt.checkpoint_lineage(run / "checkpoints" / "step_00000020") == ours
    # keep=1 right after writing: exactly what was just written survives of our lineage.
    _fake_checkpoint(run, 35, ours)
    ckpt.finalize(run, 35, 1, ours)
    assert _names(run) == ["step_00000035", "step_00000040", "step_00000060"]


def test_a_resumed_lineage_does_not_count_the_dead_branch_it_left(tmp_path):
    run = tmp_path / "run"
    first = ckpt.new_lineage()
    for step in (2, 4, 6):
        _fake_checkpoint(run, step, first)
        ckpt.finalize(run, step, 0, first)
    resumed = ckpt.new_lineage(first, from_step=2)  # went on from step 2: 4 and 6 are a dead branch
    assert ckpt.in_lineage(first, 2, resumed) and not ckpt.in_lineage(first, 4, resumed)
    _fake_checkpoint(run, 3, resumed)
    ckpt.finalize(run, 3, 1, resumed)
    assert _names(run) == ["step_00000003", "step_00000004", "step_00000006"]


def test_library_refusal_is_a_run_folder_error(tiny_data, tmp_path):
    run = tmp_path / "run"
    train(tiny_run_config(steps=1), tiny_data, run)
    with pytest.raises(RunFolderError, match="already holds a training run"):
        train(tiny_run_config(steps=1), tiny_data, run)
