"""The runner: a small LSTM really learns a small FRJT; the command writes table, JSON, CSV, PNG."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from torch_threads import one_torch_thread

from sessionforge.commands.bench import command as bench
from sessionforge.config import from_dict
from sessionforge.errors import ConfigError
from sessionforge.tasks.runner import RecurrenceConfig, make_task, train_one


@pytest.fixture
def one_thread():
    # tiny models on a shared 2-core machine run far faster single-threaded
    yield from one_torch_thread()


def test_small_lstm_learns_small_frjt(one_thread):
    cfg = from_dict(RecurrenceConfig, {
        "task": "frjt", "n": [12], "backbones": ["lstm"], "hidden": 32, "steps": 100, "lr": 1e-2,
        "batch": 32, "eval_sequences": 128, "frjt": {"k_max": 4}, "lstm_impl": "torch"})
    result = train_one(make_task(cfg), 12, "lstm", cfg)
    assert result.accuracy > 0.97, result
    assert result.accuracy > result.majority + 0.2  # far above guessing the common label
    assert result.train_seconds < 30


def test_untrained_budget_stays_near_the_baseline(one_thread):
    # the same model with 2 steps must not look trained: the accuracy above is learned
    cfg = from_dict(RecurrenceConfig, {
        "task": "frjt", "n": [12], "backbones": ["lstm"], "hidden": 32, "steps": 2, "lr": 1e-2,
        "eval_sequences": 64, "frjt": {"k_max": 4}, "lstm_impl": "torch"})
    result = train_one(make_task(cfg), 12, "lstm", cfg)
    assert result.accuracy < 0.9


def test_command_writes_table_json_csv_png(tmp_path, one_thread):
    out = tmp_path / "res"
    res = CliRunner().invoke(bench, [
        "recurrence", "--task", "maze", "--n", "6,10", "--backbone", "lstm,transformer,linear-rnn",
        "--layers", "1,2,1", "--steps", "3", "--hidden", "16", "--heads", "2", "--eval-sequences", "8",
        "--device", "cpu", "--set", "maze.mode=shown", "--set", "maze.height=3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "n=6" in res.output and "n=10" in res.output and "majority class" in res.output
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["maze"]["mode"] == "shown"
    cells = {(r["backbone"], r["n"]): r for r in data["results"]}
    assert set(cells) == {(b, n) for b in ("lstm", "transformer", "linear-rnn") for n in (6, 10)}
    assert cells[("transformer", 6)]["layers"] == 2
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in data["results"])
    with (out / "results.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 6
    png = (out / "accuracy.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


@pytest.mark.parametrize("args, message", [
    (["--backbone", "lstm,rwkv"], "unknown backbone 'rwkv'"),
    (["--layers", "1,2"], "one --layers value or one per backbone"),
    (["--set", "frjt.k_maxx=3"], "unknown key"),
])
def test_bad_options_are_one_line_errors(args, message):
    res = CliRunner().invoke(bench, ["recurrence", "--n", "4", "--steps", "1", *args])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError) and message in str(res.exception)


def test_bad_n_list_is_a_usage_error():
    res = CliRunner().invoke(bench, ["recurrence", "--n", "16,abc"])
    assert res.exit_code == 2 and "comma-separated integers" in res.output
