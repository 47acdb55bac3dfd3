"""train --data s3://... (a local S3 server): a cold cache fetches and checks the shards, a warm
cache fetches nothing again, and the run equals one on the local folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from synth import write_synthetic_dataset  # noqa: E402
from trainkit import tiny_run_config  # noqa: E402

from sessionforge.cli import main  # noqa: E402
from sessionforge.config import to_dict  # noqa: E402
from sessionforge.dataset.remote import cache_folder  # noqa: E402


def _train(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
        raise SystemExit(0)
    return exc.value.code or 0, capsys.readouterr().err


def _losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
            if '"loss"' in line]


def test_train_from_s3_with_a_cold_then_a_warm_cache(s3, tmp_path, capsys):
    torch = pytest.importorskip("torch")  # noqa: F841
    fs, bucket = s3
    data = write_synthetic_dataset(tmp_path / "data", {"a.tss": dict(sessions=2, frames=120, seed=5)})
    for f in sorted(data.rglob("*")):
        if f.is_file():
            fs.put_file(str(f), f"{bucket}/ds/{f.relative_to(data).as_posix()}")
    url = f"s3://{bucket}/ds"
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, checkpoint_every=2))))
    cache = tmp_path / "cache"
    common = ["--config", str(cfg), "--no-progress", "--cache-dir", str(cache)]
    code, err = _train(["train", "--data", url, "--out", str(tmp_path / "cold"), *common], capsys)
    assert code == 0, err
    shard = cache_folder(url, cache) / "shards" / "a.tss"
    assert shard.read_bytes() == (data / "shards" / "a.tss").read_bytes()
    fetched = shard.stat().st_mtime_ns
    code, err = _train(["train", "--data", url, "--out", str(tmp_path / "warm"), *common], capsys)
    assert code == 0, err
    assert shard.stat().st_mtime_ns == fetched                       # the warm cache fetched nothing
    code, err = _train(["train", "--data", str(data), "--out", str(tmp_path / "local"), "--config", str(cfg),
                        "--no-progress"], capsys)
    assert code == 0, err
    assert _losses(tmp_path / "cold") == _losses(tmp_path / "warm") == _losses(tmp_path / "local")
