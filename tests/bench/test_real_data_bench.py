"""bench/real_data_bench.py --quick: the real-data experiment end to end on a tiny generated history."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from gitfactory import make_synthetic_history

BENCH = Path(__file__).resolve().parents[2] / "bench" / "real_data_bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("real_data_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_mode_builds_trains_evaluates_and_reports(tmp_path, capsys):
    repo = tmp_path / "repo"
    make_synthetic_history(repo, commits=10, seed=0)
    out = tmp_path / "out"
    _bench().main(["--quick", "--no-self", str(repo), "--out", str(out)])
    result = json.loads((out / "results.json").read_text())
    names = [r["name"] for r in result["runs"]]
    assert names == ["lstm-L8", "transformer-L8", "linear-rnn-L8", "lstm-L4", "lstm-L16", "lstm-L8-muon"]
    [rep] = result["repos"]
    assert (rep["commits"], rep["boundary"]) == (6, 5)  # --quick: the oldest 6 commits, the last one held out
    base = result["runs"][0]["parameters"]
    assert all(abs(r["parameters"] - base) <= 0.1 * base for r in result["runs"])  # matched counts
    for r in result["runs"]:
        assert r["result"]["eval"]["model"]["cross_entropy"] > 0 and r["result"]["val"]  # eval + validation rows
    for name in ("results.md", "loss_vs_window.png", "loss_vs_time.png", "loss_by_position.png",
                 "scaling-report/summary.md"):
        assert (out / name).is_file(), name
    md = (out / "results.md").read_text()
    assert "Held out: the later" in md and "| lstm-L8-muon | lstm | 8 |" in md and "alpha =" in md
