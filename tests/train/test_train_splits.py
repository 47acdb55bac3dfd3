"""train --split and train.eval_every: which sessions are trained on, and the validation loss."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest
import yaml

from clikit import run_main
from sessionforge.config import to_dict
from sessionforge.dataset import DatasetError, ShardSet
from sessionforge.train.checkpoint import list_checkpoints
from sessionforge.train.data import split_sessions
from sessionforge.train.loop import train
from sessionforge.train.validate import VAL_SEED, Validation
from synth import write_synthetic_dataset
from trainkit import tiny_run_config


def _with_splits(root, splits: dict[str, str]):
    """Give a synthetic dataset's manifest a split column: shard name -> split."""
    path = root / "manifest.parquet"
    m = pl.read_parquet(path)
    m.with_columns(pl.col("shard").replace_strict(splits, return_dtype=pl.String).alias("split")).write_parquet(path)
    return root


@pytest.fixture(scope="module")
def split_data(tmp_path_factory):
    """a.tss (3 sessions) in train, b.tss (2 sessions) in val."""
    root = write_synthetic_dataset(tmp_path_factory.mktemp("split-data"), {
        "a.tss": dict(sessions=3, frames=160, seed=1), "b.tss": dict(sessions=2, frames=160, seed=2)})
    return _with_splits(root, {"a.tss": "train", "b.tss": "val"})


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_split_sessions_follow_the_manifest_and_data_without_splits_is_all_train(split_data, tiny_data):
    shards = ShardSet(split_data)
    train_refs, counts = split_sessions(shards, split_data, "train")
    assert counts == {"train": 3, "val": 2, "test": 0}
    assert {shards.paths[r.shard].name for r in train_refs} == {"a.tss"}
    assert len(split_sessions(shards, split_data, "all")[0]) == 5
    both = ShardSet([split_data, tiny_data])  # two folders: each labelled by its own manifest
    refs, counts = split_sessions(both, [split_data, tiny_data], "train")
    assert counts == {"train": 8, "val": 2, "test": 0} and len(refs) == 8


def test_train_uses_only_the_train_split_by_default(split_data, tmp_path, capsys):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, batch=2))))
    code, _, err = run_main(["train", "--config", cfg_path, "--data", split_data, "--out", tmp_path / "run",
                             "--no-progress"], capsys)
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["split"] == "train"
    state = json.loads((list_checkpoints(tmp_path / "run")[-1] / "rank0.json").read_text())
    assert state["loader"]["units"] == 3 * 5  # 3 train sessions x 5 units (13 windows of 12, 3 per unit)
    code, _, err = run_main(["train", "--config", cfg_path, "--data", split_data, "--out", tmp_path / "all",
                             "--no-progress", "--split", "all"], capsys)
    assert code == 0, err
    assert json.loads((list_checkpoints(tmp_path / "all")[-1] / "rank0.json").read_text())["loader"]["units"] == 25


def test_an_empty_train_split_is_refused_in_one_line_before_anything_is_written(tmp_path, capsys):
    root = write_synthetic_dataset(tmp_path / "d", {"a.tss": dict(sessions=2, frames=160, seed=1)})
    _with_splits(root, {"a.tss": "val"})  # a one-repository dataset that landed in val
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=1))))
    code, out, err = run_main(["train", "--config", cfg_path, "--data", root, "--out", tmp_path / "run",
                               "--no-progress"], capsys)
    assert code != 0
    line = [x for x in err.splitlines() if x.strip()]
    assert len(line) == 1, err
    assert "'train' split holds no session" in err and "--split all" in err and "--split-ratio val=0,test=0" in err
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_validation_rows_are_deterministic_and_leave_training_unchanged(split_data, tmp_path):
    plain = train(tiny_run_config(steps=4), split_data, tmp_path / "plain").losses
    res = train(tiny_run_config(steps=4, eval_every=2, eval_windows=5), split_data, tmp_path / "val")
    assert res.losses == plain  # validating draws no random numbers and changes no weight
    rows = [r for r in _records(tmp_path / "val") if "val_loss" in r]
    assert [r["step"] for r in rows] == [2, 4]
    assert rows[0]["val_windows"] == 5 and rows[0]["val_tokens"] > 0 and rows[0]["val_in_sample"] is False
    assert len(rows[0]["val_loss_by_position"]) == 8
    assert res.val_loss == (4, rows[-1]["val_loss"])
    again = train(tiny_run_config(steps=4, eval_every=2, eval_windows=5), split_data, tmp_path / "again")
    assert [r["val_loss"] for r in _records(tmp_path / "again") if "val_loss" in r] == [r["val_loss"] for r in rows]


def test_validation_windows_are_a_fixed_choice_of_val_windows(split_data):
    from sessionforge.model.tokenizer import ActionTokenizer

    shards = ShardSet(split_data)
    val = Validation(shards, ActionTokenizer(), window=12, count=7, batch=2, chunk=5)
    again = Validation(shards, ActionTokenizer(), window=12, count=7, batch=3, chunk=4)
    assert val.windows == again.windows and len(val.windows) == 7
    assert all(start % 12 == 0 and start + 13 <= ref.frames for ref, start in val.windows)
    other = Validation(shards, ActionTokenizer(), window=12, count=7, batch=2, chunk=5, seed=VAL_SEED + 1)
    assert other.windows != val.windows


def test_validation_without_val_sessions_is_refused_and_val_data_supplies_them(split_data, tiny_data, tmp_path):
    with pytest.raises(DatasetError, match="needs val sessions.*--val-data"):
        train(tiny_run_config(steps=1, eval_every=1), tiny_data, tmp_path / "none")
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())
    res = train(tiny_run_config(steps=2, eval_every=1, eval_windows=3), tiny_data, tmp_path / "other",
                val_data=split_data)
    rows = [r for r in _records(tmp_path / "other") if "val_loss" in r]
    assert [r["step"] for r in rows] == [1, 2] and res.val_loss is not None
    # Training on every session of the data that also holds the val sessions: flagged in-sample.
    train(tiny_run_config(steps=1, eval_every=1, eval_windows=3, split="all"), split_data, tmp_path / "all")
    assert [r["val_in_sample"] for r in _records(tmp_path / "all") if "val_loss" in r] == [True]


def test_eval_cadence_may_change_on_resume(split_data, tmp_path):
    run = tmp_path / "run"
    straight = train(tiny_run_config(steps=4, checkpoint_every=2), split_data, tmp_path / "straight").losses
    train(tiny_run_config(steps=2, checkpoint_every=2), split_data, run)
    resumed = train(tiny_run_config(steps=4, checkpoint_every=2, eval_every=1, eval_windows=4), split_data, run,
                    resume=True)
    assert resumed.losses == straight[2:]
    assert [r["step"] for r in _records(run) if "val_loss" in r] == [3, 4]
    shutil.rmtree(list_checkpoints(run)[-1])  # back to step 2: the val rows after it are dropped
    train(tiny_run_config(steps=3, checkpoint_every=2), split_data, run, resume=True)
    assert [r["step"] for r in _records(run) if "val_loss" in r] == []
