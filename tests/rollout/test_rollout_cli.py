"""``sessionforge rollout`` from the command line: outputs, determinism, --runs, clear refusals."""

from __future__ import annotations

import json
import shutil

import pytest

from clikit import run_main
from rolloutkit import build_dataset, manifest
from sessionforge.dataset import read_dataset
from sessionforge.files import sha256_file, write_json_atomic
from sessionforge.formats import open_shard
from sessionforge.model.tokenizer import ActionTokenizer
from train.synth import write_synthetic_shard


def _rollout(args, capsys):
    return run_main(["rollout", *map(str, args), "--no-progress"], capsys)


def _point(data):
    """A val session and a frame in its middle."""
    row = manifest(data).filter(manifest(data)["split"] == "val").row(0, named=True)
    return row["id"], row["frames"] // 2


def _numbers(report: dict) -> dict:
    """A report without what depends on the clock or the output paths."""
    out = json.loads(json.dumps(report))
    for p in out["points"]:
        p.pop("warm_up_seconds")
        for row in p["policies"].values():
            row.pop("cpu", None), row.pop("wall_seconds", None), row.pop("keys_per_cpu_second", None)
    out.pop("summary")
    return out


def test_one_rollout_writes_a_shard_a_cast_and_the_table(tiny_rollout_run, replayed, tmp_path, capsys):
    sid, frame = _point(replayed)
    out = tmp_path / "roll" / "x.tss"
    code, stdout, err = _rollout([tiny_rollout_run, "--data", replayed, "--session", sid, "--at", frame, "--keys", 60,
                                  "--seed", 3, "-o", out, "--json", tmp_path / "r.json", "--lead", 1], capsys)
    assert code == 0, err
    for text in ("model", "recorded", "4-gram", "token agreement, first 32 keys", "keys before divergence",
                 "file edit distance, same point", "file edit distance, commit end", "frames equal to the recording",
                 "keys per CPU second", "ms per key: editor"):
        assert text in stdout, text
    rep = json.loads((tmp_path / "r.json").read_text())
    (point,) = rep["points"]
    assert point["session"] == sid and point["frame"] == frame and point["keys"] == 60
    assert set(point["policies"]) == {"model", "recorded", "ngram"}
    rec = point["policies"]["recorded"]
    assert rec["frames_match"] and rec["same_point_distance"] == 0 and rec["token_agreement"] == 1.0
    assert rep["self_check"]["ok"] and point["frame_head"]["incremental"]
    with open_shard(out) as r:
        (s,) = r.sessions
        assert s.frames == 61 and s.meta["rollout"]["session"] == sid and s.meta["rollout"]["frame"] == frame
        assert s.meta["rollout"]["step"] == 2 and s.meta["rollout"]["seed"] == 3
        assert s.meta["markers"][0][0] == 1 and "model takes over" in s.meta["markers"][0][2]
        with open_shard(replayed / "shards" / manifest(replayed).filter(
                manifest(replayed)["id"] == sid)["shard"][0]) as src:
            idx = int(manifest(replayed).filter(manifest(replayed)["id"] == sid)["index"][0])
            assert (r.read_frames(0, 0, 1).chars == src.read_frames(idx, frame, frame + 1).chars).all()
    lines = [json.loads(x) for x in out.with_suffix(".cast").read_text().splitlines()]
    assert lines[0]["version"] == 2 and lines[0]["width"] == 64 and lines[0]["height"] == 16
    marks = [e for e in lines[1:] if e[1] == "m" and "model takes over" in e[2]]
    assert len(marks) == 1 and marks[0][0] == pytest.approx(min(frame, 30) / 30.0)
    code, _, err = run_main(["render", out, "--sheet", 12, "-o", tmp_path / "png"], capsys)
    assert code == 0, err
    assert list((tmp_path / "png").glob("*-sheet.png"))


def test_rollouts_are_deterministic_for_a_seed(tiny_rollout_run, replayed, tmp_path, capsys):
    sid, frame = _point(replayed)
    reports, actions = [], []
    for k, seed in enumerate((5, 5, 6)):
        out = tmp_path / f"r{k}.tss"
        code, _, err = _rollout([tiny_rollout_run, "--data", replayed, "--session", sid, "--at", frame, "--keys", 40,
                                 "--seed", seed, "-o", out, "--json", tmp_path / f"r{k}.json"], capsys)
        assert code == 0, err
        reports.append(_numbers(json.loads((tmp_path / f"r{k}.json").read_text())))
        with open_shard(out) as r:
            actions.append(r.read_actions(0))
    assert actions[0][0] == actions[1][0] and reports[0]["points"] == reports[1]["points"]
    assert actions[0][0] != actions[2][0]  # another seed, other keys


def test_runs_draws_val_points_and_averages_them(tiny_rollout_run, replayed, tmp_path, capsys):
    code, stdout, err = _rollout([tiny_rollout_run, "--data", replayed, "--runs", 3, "--keys", 30, "--seed", 1,
                                  "--json", tmp_path / "runs.json", "-o", tmp_path / "runs.tss"], capsys)
    assert code == 0, err
    assert "3 points drawn from the val split" in " ".join(stdout.split())
    rep = json.loads((tmp_path / "runs.json").read_text())
    val = set(manifest(replayed).filter(manifest(replayed)["split"] == "val")["id"].to_list())
    assert len(rep["points"]) == 3 and {p["session"] for p in rep["points"]} <= val
    assert rep["summary"]["recorded"]["frames_match"] == 3 and rep["summary"]["recorded"]["same_point_distance"] == 0
    assert rep["summary"]["model"]["points"] == 3 and rep["self_check"]["ok"]
    with open_shard(tmp_path / "runs.tss") as r:
        assert len(r.sessions) == 3
    assert not (tmp_path / "runs.cast").exists()


def _refused(args, capsys, *needles):
    code, _, err = _rollout(args, capsys)
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    for n in needles:
        assert n in " ".join(err.split()), err


def test_bad_arguments_are_one_clear_line(tiny_rollout_run, replayed, tmp_path, capsys):
    sid, _ = _point(replayed)
    frames = int(manifest(replayed).filter(manifest(replayed)["id"] == sid)["frames"][0])
    base = [tiny_rollout_run, "--data", replayed]
    _refused([*base, "--session", sid, "--at", frames, "-o", tmp_path / "a.tss"], capsys,
             f"--at {frames}: outside session {sid}", f"0..{frames - 1}")
    _refused([*base, "--session", sid, "--at", 0, "-o", tmp_path / "a.tss", "--keys", 0], capsys, "--keys 0")
    _refused([*base, "--session", sid, "--at", 0], capsys, "give -o OUT")
    _refused([*base, "--at", 0, "-o", tmp_path / "a.tss"], capsys, "give --session ID and --at FRAME")
    _refused([*base, "--runs", 2, "--session", sid], capsys, "leave out --session and --at")
    (tmp_path / "b.tss").write_bytes(b"")
    _refused([*base, "--session", sid, "--at", 0, "-o", tmp_path / "b.tss"], capsys, "exists (--force replaces it)")
    shard = next((replayed / "shards").iterdir())
    _refused([tiny_rollout_run, "--data", shard, "--session", sid, "--at", 0, "-o", tmp_path / "c.tss"], capsys,
             "give a dataset folder")
    assert not (tmp_path / "c.tss").exists()


def test_a_checkpoint_for_another_frame_size_is_refused(tiny_rollout_run, tmp_path, capsys):
    other = build_dataset(tmp_path, frame_size="16x60", seeds=(1,))
    capsys.readouterr()  # the build's own output
    sid = manifest(other)["id"][0]
    _refused([tiny_rollout_run, "--data", other, "--session", sid, "--at", 0, "-o", tmp_path / "x.tss"], capsys,
             "the model reads 16x64 frames", "sessions are 16x60")


def test_a_tokenizer_that_does_not_fit_the_weights_is_refused(tiny_rollout_run, replayed, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_rollout_run, run)
    ckpt = sorted((run / "checkpoints").iterdir())[-1]
    ActionTokenizer([b"abc", b"xyz"]).save(ckpt / "tokenizer.json")  # the base vocabulary and two pieces
    sid, _ = _point(replayed)
    _refused([run, "--data", replayed, "--session", sid, "--at", 0, "-o", tmp_path / "x.tss"], capsys,
             "its tokenizer has 383 tokens but its model's action head predicts")


def test_a_session_of_another_frame_size_in_the_data_is_refused(tiny_rollout_run, replayed, tmp_path, capsys):
    data = tmp_path / "mixed"
    shutil.copytree(replayed, data)
    extra = write_synthetic_shard(data / "shards" / "zz-other.tss", sessions=1, frames=40, rows=8, cols=32)
    doc = read_dataset(data).doc
    doc["shards"]["zz-other.tss"] = {"sha256": sha256_file(extra), "bytes": extra.stat().st_size}
    write_json_atomic(data / "dataset.json", doc)
    sid, _ = _point(replayed)
    _refused([tiny_rollout_run, "--data", data, "--session", sid, "--at", 0, "-o", tmp_path / "x.tss"], capsys,
             "frames are 8x32", "16x64")


def test_the_4gram_can_be_fitted_on_another_dataset(tiny_rollout_run, replayed, tmp_path, capsys):
    later = build_dataset(tmp_path, seeds=(2,), split="val=1,test=0")  # one repository, all val: no train split
    capsys.readouterr()
    sid = manifest(later)["id"][0]
    args = [tiny_rollout_run, "--data", later, "--session", sid, "--at", 10, "--keys", 20]
    _refused([*args, "-o", tmp_path / "a.tss"], capsys, "fitted on the train split", "--baseline-data")
    code, _, err = _rollout([*args, "-o", tmp_path / "b.tss", "--baseline-data", replayed, "--json",
                             tmp_path / "b.json"], capsys)
    assert code == 0, err
    rep = json.loads((tmp_path / "b.json").read_text())
    assert rep["settings"]["baseline_data"] == str(replayed) and "ngram" in rep["points"][0]["policies"]
