"""The scaling report recovers alpha from synthetic power-law runs; plots and errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from sessionforge.commands.report import command as report
from sessionforge.tasks.scaling import ReportError, analyse, fit_power_law, load_run

WINDOWS = [64, 128, 256, 512, 1024, 2048]


def write_run(root: Path, window: int, alpha_at, steps: int = 400, A: float = 5.0, seed: int = 0,
              extra_config: dict | None = None) -> Path:
    """A fake 'sessionforge train' folder whose loss is A * L^-alpha(step) * g(step) * noise."""
    run = root / f"L{window}"
    run.mkdir()
    config = {"train": {"window": window, "steps": steps, "batch": 8}, "model": {"hidden": 64}}
    for k, v in (extra_config or {}).items():
        config.setdefault(k, {}).update(v)
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    rng = np.random.default_rng([seed, window])
    with (run / "metrics.jsonl").open("w") as f:
        for step in range(1, steps + 1, 2):
            shape = 1.0 + 3.0 / math.sqrt(step)  # common learning curve, cancels out of alpha
            loss = A * window ** -alpha_at(step) * shape * math.exp(rng.normal(0, 0.01))
            pos = [loss * (1 + 1 / (i + 1)) for i in range(8)]  # early positions are harder
            f.write(json.dumps({"step": step, "loss": loss, "frames": step * 8 * window,
                                "elapsed_s": step * window / 1000, "lr": 1e-3, "window": window,
                                "loss_by_position": pos}) + "\n")
        f.write(json.dumps({"event": "checkpoint", "step": steps}) + "\n")  # not a loss record
    return run


def test_fit_recovers_exact_power_law():
    fit = fit_power_law(WINDOWS, [3.0 * L ** -0.37 for L in WINDOWS])
    assert fit.alpha == pytest.approx(0.37, abs=1e-9)
    assert fit.A == pytest.approx(3.0, rel=1e-9)
    assert fit.r2 == pytest.approx(1.0)


def test_report_recovers_alpha_from_run_folders(tmp_path):
    runs = [write_run(tmp_path, L, lambda s: 0.25) for L in WINDOWS]
    a = analyse(runs, tail=0.1, buckets=5)
    assert a.fit.alpha == pytest.approx(0.25, abs=0.01)
    assert a.fit.r2 > 0.99
    assert len(a.bucket_alpha) == 5
    assert all(al == pytest.approx(0.25, abs=0.01) for al in a.bucket_alpha)
    assert a.config_differences == []


def test_alpha_followed_through_training(tmp_path):
    # alpha grows from 0.05 to 0.45: the per-bucket fits must follow it
    runs = [write_run(tmp_path, L, lambda s: 0.05 + 0.4 * s / 400) for L in WINDOWS]
    a = analyse(runs, buckets=4)
    assert np.all(np.diff(a.bucket_alpha) > 0.05)
    for centre, alpha in zip(a.bucket_steps, a.bucket_alpha):
        assert alpha == pytest.approx(0.05 + 0.4 * centre / 400, abs=0.03)


def test_command_writes_nonempty_plots_and_summary(tmp_path):
    runs = [write_run(tmp_path, L, lambda s: 0.3) for L in (128, 512, 2048)]
    out = tmp_path / "report"
    res = CliRunner().invoke(report, ["scaling", *map(str, runs), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "L^-0.3" in res.output
    for name in ("loss_vs_window.png", "alpha_vs_step.png", "loss_vs_time.png", "loss_by_position.png"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000, name
    summary = (out / "summary.md").read_text()
    assert "L^-0.3" in summary and "| L2048 | 2048 |" in summary


def test_runs_differing_in_more_than_window_are_flagged(tmp_path):
    a = write_run(tmp_path, 128, lambda s: 0.3)
    b = write_run(tmp_path, 256, lambda s: 0.3, extra_config={"model": {"hidden": 128}})
    assert analyse([a, b]).config_differences == ["model.hidden"]


def test_resumed_run_keeps_last_record_of_a_step(tmp_path):
    run = write_run(tmp_path, 64, lambda s: 0.3, steps=10)
    with (run / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 9, "loss": 0.123, "elapsed_s": 99.0}) + "\n")
    r = load_run(run)
    assert list(r.steps) == sorted(set(r.steps)) and r.loss[-1] == 0.123


@pytest.mark.parametrize("damage, message", [
    (lambda run: (run / "config.yaml").unlink(), "config.yaml: missing"),
    (lambda run: (run / "config.yaml").write_text("train: {steps: 3}\n"), "train.window must be a positive integer"),
    (lambda run: (run / "config.yaml").write_text("train: [\n"), "cannot parse YAML"),
    (lambda run: (run / "metrics.jsonl").unlink(), "metrics.jsonl: missing"),
    (lambda run: (run / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo\n'),
     "metrics.jsonl: line 2: invalid JSON"),
    (lambda run: (run / "metrics.jsonl").write_text('{"step": 1, "loss": NaN}\n'), "line 1: 'loss' must be"),
    (lambda run: (run / "metrics.jsonl").write_text('{"event": "start"}\n'), "no line with a 'loss'"),
])
def test_bad_runs_are_clear_errors(tmp_path, damage, message):
    good = write_run(tmp_path, 64, lambda s: 0.3, steps=10)
    bad = write_run(tmp_path, 128, lambda s: 0.3, steps=10)
    damage(bad)
    with pytest.raises(ReportError, match=message):
        analyse([good, bad])


def test_missing_folder_and_single_window_are_clear_errors(tmp_path):
    with pytest.raises(ReportError, match="not a run folder"):
        analyse([tmp_path / "nope"])
    one = write_run(tmp_path, 64, lambda s: 0.3, steps=10)
    with pytest.raises(ReportError, match="at least 2 different window lengths"):
        analyse([one])


def test_cli_prints_one_line_for_a_bad_run(tmp_path, capsys):
    from sessionforge.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["report", "scaling", str(tmp_path / "missing-run"), "-o", str(tmp_path / "out")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'missing-run'}: not a run folder (no such directory)"]
