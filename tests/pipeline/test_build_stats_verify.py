"""stats and verify on a real dataset: numbers agree with the manifest; corruption is caught."""

from __future__ import annotations

import json
import shutil
from collections import Counter
import subprocess
from pathlib import Path

import polars as pl
import pytest

from buildkit import sf_command
from sessionforge.dataset import DatasetError
from sessionforge.pipeline.stats import dataset_stats, readable_action
from sessionforge.pipeline.verify import verify_dataset
from sessionforge.errors import SessionforgeError
from sessionforge.formats import open_shard


def test_stats_agree_with_manifest_and_shards(reference, repos):
    man = pl.read_parquet(reference / "manifest.parquet")
    st = dataset_stats(reference)
    assert st["totals"]["frames"] == man["frames"].sum() and st["totals"]["sessions"] == man.height
    fps = st["frames_per_session"]
    assert (fps["min"], fps["max"]) == (man["frames"].min(), man["frames"].max())
    assert fps["min"] <= fps["p10"] <= fps["p50"] <= fps["p90"] <= fps["max"]
    assert [r["repository"] for r in st["repositories"]] == repos
    assert sum(r["frames"] for r in st["repositories"]) == man["frames"].sum()
    # top actions over every shard, counted independently
    ta = dataset_stats(reference, sample_shards=1000)["top_actions"]
    counts: Counter[str] = Counter()
    for name in json.loads((reference / "dataset.json").read_text())["shards"]:
        with open_shard(reference / "shards" / name) as r:
            for i in range(len(r.sessions)):
                f = r.read_session(i)
                counts.update(readable_action(f.action(t)) for t in range(len(f)))
    assert ta["sampled_frames"] == man["frames"].sum() == sum(counts.values())
    assert {a["action"]: a["count"] for a in ta["top"]} == {a: counts[a] for a in (x["action"] for x in ta["top"])}
    assert ta["top"][0]["count"] == max(counts.values()) and len(ta["top"]) == min(20, len(counts))
    proc = subprocess.run([*sf_command(), "stats", str(reference), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"] == st["totals"]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_catches_corrupt_missing_and_stray_shards(reference, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(reference, out)
    names = sorted(json.loads((out / "dataset.json").read_text())["shards"])
    assert verify_dataset(out).ok
    _flip_byte(out / "shards" / names[0])
    rep = verify_dataset(out)
    text = "\n".join(rep.problems)
    assert f"shards/{names[0]}: sha256" in text
    assert any(p.startswith(f"shards/{names[0]}") and "sha256" not in p for p in rep.problems), text  # decode
    with pytest.raises(SessionforgeError, match="sha256 does not match"):
        dataset_stats(out)                         # stats refuses numbers from a corrupt shard
    (out / "shards" / names[1]).unlink()
    shutil.copy(out / "shards" / names[2], out / "shards" / "stray.tss")
    proc = subprocess.run([*sf_command(), "verify", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"problem: shards/{names[1]}: missing" in proc.stderr
    assert "problem: shards/stray.tss: not listed in dataset.json" in proc.stderr
    assert "error: " in proc.stderr and "Traceback" not in proc.stderr


def test_verify_and_stats_refuse_an_unfinished_dataset(tmp_path):
    (tmp_path / "shards").mkdir()
    with pytest.raises(DatasetError, match="not a finished dataset"):
        verify_dataset(tmp_path)
    with pytest.raises(DatasetError, match="not a finished dataset"):
        dataset_stats(tmp_path)
