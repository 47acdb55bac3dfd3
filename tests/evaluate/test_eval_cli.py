"""``sessionforge eval`` from the command line: a table, the same numbers as JSON, clear refusals."""

from __future__ import annotations

import json

from clikit import run_main


def _eval(args, capsys):
    return run_main(["eval", *map(str, args), "--no-progress"], capsys)


def test_eval_prints_a_table_and_writes_the_same_numbers_as_json(tiny_run, split_data, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code, stdout, err = _eval([tiny_run, "--data", split_data, "--frames", 120, "--json", out], capsys)
    assert code == 0, err
    for text in ("model", "4-gram", "unigram", "cross-entropy (nats/token)", "bits per action byte",
                 "top-5 accuracy", "loss, positions 0-1", "loss, typed"):
        assert text in stdout
    rep = json.loads(out.read_text())
    assert rep["step"] == 2 and rep["split"] == "val" and rep["held_out"] is True
    assert rep["frames"] == 120 and rep["windows"] == 10 and rep["window"] == 12
    model = rep["predictors"]["model"]
    assert f"{model['cross_entropy']:.4f}" in stdout and f"{rep['predictors']['ngram']['bits_per_byte']:.4f}" in stdout
    assert set(rep["predictors"]) == {"model", "ngram", "unigram"}
    assert "Witten-Bell" in rep["baselines"]["ngram"] and rep["baselines"]["fitted_on"] == "train"


def test_eval_is_deterministic_for_a_seed(tiny_run, split_data, tmp_path, capsys):
    reports = []
    for k in range(2):
        out = tmp_path / f"e{k}.json"
        code, _, err = _eval([tiny_run, "--data", split_data, "--frames", 60, "--seed", 5, "--split", "test",
                              "--checkpoint", 1, "--json", out], capsys)
        assert code == 0, err
        rep = json.loads(out.read_text())
        rep.pop("seconds")
        reports.append(rep)
    assert reports[0] == reports[1] and reports[0]["step"] == 1 and reports[0]["split"] == "test"


def test_missing_run_is_one_clear_line(tmp_path, split_data, capsys):
    code, _, err = _eval([tmp_path / "nope", "--data", split_data], capsys)
    assert code == 1 and err.startswith("error: ") and "no such run folder" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_checkpoint_step_is_one_clear_line(tiny_run, split_data, capsys):
    code, _, err = _eval([tiny_run, "--data", split_data, "--checkpoint", 7], capsys)
    assert code == 1 and "no checkpoint at step 7 (checkpoints at steps: 1, 2)" in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_without_checkpoints_is_refused(tmp_path, split_data, capsys):
    (tmp_path / "empty-run").mkdir()
    code, _, err = _eval([tmp_path / "empty-run", "--data", split_data], capsys)
    assert code == 1 and "no checkpoint to evaluate" in err


def test_val_without_splits_suggests_train_and_train_says_in_sample(tiny_run, unsplit_data, capsys):
    code, _, err = _eval([tiny_run, "--data", unsplit_data], capsys)
    assert code == 1 and "--split train" in err and len(err.strip().splitlines()) == 1
    code, stdout, err = _eval([tiny_run, "--data", unsplit_data, "--split", "train", "--frames", 24], capsys)
    assert code == 0, err
    assert "none of these numbers are held out" in " ".join(err.split())
    assert "train split" in stdout


def test_bad_split_and_too_few_frames_are_refused(tiny_run, split_data, capsys):
    code, _, err = _eval([tiny_run, "--data", split_data, "--split", "dev"], capsys)
    assert code == 1 and "unknown split 'dev'" in err
    code, _, err = _eval([tiny_run, "--data", split_data, "--frames", 5], capsys)
    assert code == 1 and "less than one window" in err


def test_baselines_can_be_fitted_on_another_dataset(tiny_run, split_data, unsplit_data, tmp_path, capsys):
    # Held out in time: DATA holds only later history, so the baselines come from the training set.
    # Here: score split_data's val sessions, fit on unsplit_data (all-train: its every session).
    out = tmp_path / "b.json"
    code, _, err = _eval([tiny_run, "--data", split_data, "--frames", 60, "--baseline-data", unsplit_data,
                          "--json", out], capsys)
    assert code == 0, err
    rep = json.loads(out.read_text())
    own = tmp_path / "own.json"
    assert _eval([tiny_run, "--data", split_data, "--frames", 60, "--json", own], capsys)[0] == 0
    mine = json.loads(own.read_text())
    assert rep["baseline_data"] == str(unsplit_data) and mine["baseline_data"] == str(split_data)
    # The same frames and model, other baselines: fitted on more sessions than split_data's train split.
    assert rep["predictors"]["model"] == mine["predictors"]["model"]
    assert rep["baselines"]["train_sessions"] > mine["baselines"]["train_sessions"]
    assert rep["predictors"]["ngram"] != mine["predictors"]["ngram"]
