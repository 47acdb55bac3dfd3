"""The training loop: a tiny model overfits, checkpoints resume exactly, metrics are written."""

from __future__ import annotations

import json
import shutil

import pytest

from sessionforge.train.checkpoint import list_checkpoints
from sessionforge.train.loop import lr_at, train
from synth import write_synthetic_shard
from trainkit import tiny_model_config, tiny_run_config


def test_tiny_model_overfits_a_tiny_dataset(tmp_path):
    # One short session of 4x16 frames whose title bar shows the keys to come (a shard file given
    # directly: no dataset.json to check it against).
    data = write_synthetic_shard(tmp_path / "one.tss", sessions=1, frames=49, rows=4, cols=16, seed=3,
                                 show_next=True)
    cfg = tiny_run_config(window=12, batch=2, chunk=6, stream_windows=2, steps=200, checkpoint_every=1000,
                          log_every=25)
    cfg.model = tiny_model_config(4, 16, layers=1)
    cfg.optim.lr, cfg.optim.warmup, cfg.optim.min_lr_ratio = 1e-2, 5, 1.0
    cfg.model.frame_head.width = cfg.model.frame_head.out_dim = 16
    cfg.model.integrator.hidden = 32
    res = train(cfg, data, tmp_path / "run")
    start = sum(res.losses[:3]) / 3  # ~ln(vocab): an untrained model
    end = sum(res.losses[-10:]) / 10
    # A model that ignores the screen plateaus near 2.8 here (the key frequencies);
    # going well below it means the frames are read and the windows memorised.
    assert end < 0.35 * start and end < 2.2, (start, end)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(25, 201, 25))
    for key in ("loss", "frames", "elapsed_s", "lr", "window", "loss_by_position", "frames_per_s",
                "peak_memory_bytes"):
        assert key in records[-1]
    assert len(records[-1]["loss_by_position"]) == 8 and records[-1]["window"] == 12
    assert records[-1]["frames"] == 200 * 12 * 2


def test_resume_from_a_checkpoint_gives_the_same_next_losses(tiny_data, tmp_path):
    cfg = tiny_run_config(steps=5, checkpoint_every=2)
    run = tmp_path / "run"
    straight = train(cfg, tiny_data, run).losses
    assert [p.name for p in list_checkpoints(run)] == ["step_00000002", "step_00000004", "step_00000005"]
    # Forget everything after step 2, then resume: steps 3-5 must repeat exactly.
    for p in list_checkpoints(run)[1:]:
        shutil.rmtree(p)
    resumed = train(cfg, tiny_data, run, resume=True).losses
    assert resumed == straight[2:]
    assert (run / "checkpoints" / "step_00000005" / "model.safetensors").is_file()


def test_full_backprop_mode_and_streaming_mode_train_identically(tiny_data, tmp_path):
    a = train(tiny_run_config(steps=3, mode="full", checkpoint_every=100), tiny_data, tmp_path / "a").losses
    b = train(tiny_run_config(steps=3, checkpoint_every=100), tiny_data, tmp_path / "b").losses
    assert a == pytest.approx(b, rel=1e-4)


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    cfg = tiny_run_config(steps=100)
    cfg.optim.lr, cfg.optim.warmup, cfg.optim.min_lr_ratio = 1.0, 10, 0.1
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, cfg) == pytest.approx(0.1)
