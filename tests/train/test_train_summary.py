"""The end-of-run summary describes this invocation and agrees with metrics.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from clikit import run_main
from sessionforge.config import to_dict
from sessionforge.train.summary import TrainResult, summary_line
from trainkit import tiny_run_config


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_after_a_resume_the_summary_gives_this_invocations_steps_and_logged_losses(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=3, log_every=1, checkpoint_every=3))))
    run = tmp_path / "run"
    code, _, err = run_main(["train", "--config", cfg, "--data", tiny_data, "--out", run, "--no-progress"], capsys)
    assert code == 0, err
    code, _, err = run_main(["train", "--data", tiny_data, "--out", run, "--no-progress", "--resume",
                             "--set", "train.steps=6"], capsys)
    assert code == 0, err
    assert err.count("\n") == 1, err  # one line
    rec = {r["step"]: r["loss"] for r in _records(run)}
    assert sorted(rec) == [1, 2, 3, 4, 5, 6]
    assert "trained 3 steps (4-6; the run is at step 6 of 6)" in err
    assert f"loss {rec[4]:.4f} (step 4) -> {rec[6]:.4f} (step 6)" in err  # not step 1's loss, not per-step ones
    assert "validation" not in err  # the run has no validation: nothing is made up
    assert f"{3 * 12 * 2:,} frames" in err  # this invocation's frames (window 12 x batch 2 x 3 steps)


def test_a_resume_with_nothing_left_to_do_says_so(tiny_data, tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, checkpoint_every=2))))
    run = tmp_path / "run"
    assert run_main(["train", "--config", cfg, "--data", tiny_data, "--out", run, "--no-progress"], capsys)[0] == 0
    code, _, err = run_main(["train", "--data", tiny_data, "--out", run, "--no-progress", "--resume"], capsys)
    assert code == 0, err
    assert "trained 0 steps (the run is already at step 2 of 2)" in err and "loss" not in err


def test_the_summary_shows_the_last_validation_loss_when_there_is_one():
    res = TrainResult(logged=[(10, 4.5), (20, 4.25)], start_step=0, step=20, total_steps=20, frames=640,
                      seconds=2.0, parameters=1234, val_loss=(20, 4.125), run=Path("runs/x"))
    line = summary_line(res)
    assert line == ("trained 20 steps (1-20; the run is at step 20 of 20), 1,234 parameters, 640 frames "
                    "(320 frames/s); loss 4.5000 (step 10) -> 4.2500 (step 20); "
                    "validation loss 4.1250 (step 20); run in runs/x")


def test_the_demo_prints_the_trainers_summary_and_no_loss_pair_of_its_own():
    # The demo once printed the summary's per-step losses and then its own pair read from
    # metrics.jsonl, two different "loss a -> b" lines; now the summary (which agrees with
    # metrics.jsonl, tested above) is the only one.
    demo = Path(__file__).resolve().parents[2] / "scripts" / "demo"
    step5 = demo.read_text().split('step "5.', 1)[1].split('step "6.', 1)[0]
    commands = [line for line in step5.splitlines()[1:] if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 1 and commands[0].startswith("$SF train "), commands
