"""Two torchrun ranks (gloo, CPU) train exactly like one process with both ranks' streams."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from sessionforge.config import to_dict
from sessionforge.train.loop import train
from trainkit import tiny_run_config


@pytest.mark.slow
def test_two_ranks_equal_one_process_with_the_same_global_batch(tiny_data, tmp_path):
    cfg = tiny_run_config(steps=3, batch=1, checkpoint_every=3)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(to_dict(cfg)))
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "sessionforge.cli", "train", "--config", str(path), "--data", str(tiny_data), "--out", str(run),
           "--no-progress"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    ddp = [json.loads(x)["loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    ckpt = run / "checkpoints" / "step_00000003"
    rank0, rank1 = (json.loads((ckpt / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank1["loader"]["rank"] == 1
    assert rank0["lineage"] == rank1["lineage"] and len(rank0["lineage"]) == 1  # one invocation, one id
    # Global stream g = rank * batch + b, so world 2 x batch 1 reads what world 1 x batch 2 reads,
    # and averaging the two ranks' gradients equals the two-stream mean.
    cfg.train.batch = 2
    single = train(cfg, tiny_data, tmp_path / "single").losses
    assert ddp == pytest.approx(single, rel=1e-5)
