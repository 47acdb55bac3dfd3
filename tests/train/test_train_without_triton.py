"""Without triton (macOS, a CPU box) the kernels package imports and CPU training runs.

Only asking for the Triton LSTM needs triton, and then the error names triton, not the
train extra. Each case runs in a fresh interpreter where ``import triton`` fails.
"""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from sessionforge.config import to_dict
from trainkit import tiny_run_config

# Makes every import of triton (and its submodules) fail as on a machine without it.
NO_TRITON = """
import importlib.abc, sys
class NoTriton(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'triton':
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTriton())
"""

# Runs `sessionforge train ARGV...` and prints the exit code and stderr as one JSON line.
TRAIN = NO_TRITON + """
import contextlib, io, json
from sessionforge.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err):
    try:
        main(sys.argv[1:])
        code = 0
    except SystemExit as e:
        code = e.code or 0
print(json.dumps({"code": code, "err": err.getvalue()}))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_the_kernels_package_imports_without_triton_and_names_it_when_asked():
    out = _python(NO_TRITON + """
import sessionforge_kernels
from sessionforge_kernels import lstm_reference
try:
    from sessionforge_kernels import lstm_sequence
except ModuleNotFoundError as e:
    print(e.name, '|', e)
""")
    assert out.returncode == 0, out.stderr
    name, message = out.stdout.strip().split(" | ")
    assert name == "triton" and "needs the triton package" in message


def test_importing_the_kernels_does_not_import_triton():
    # With triton installed, the package still loads it only for a Triton name.
    out = _python("import sys, sessionforge_kernels, sessionforge.model.ops\n"
                  "print(sorted(m for m in sys.modules if m.split('.')[0] == 'triton'))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _train(tiny_data, tmp_path, impl: str) -> dict:
    cfg = tiny_run_config(steps=2, checkpoint_every=100, device="cpu")
    cfg.model.integrator.lstm_impl = impl
    path = tmp_path / f"{impl}.yaml"
    path.write_text(yaml.safe_dump(to_dict(cfg)))
    out = _python(TRAIN, "train", "--config", str(path), "--data", str(tiny_data),
                  "--out", str(tmp_path / f"run-{impl}"), "--no-progress")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cpu_training_runs_without_triton(tiny_data, tmp_path):
    for impl in ("auto", "torch"):
        res = _train(tiny_data, tmp_path, impl)
        assert res["code"] == 0, res["err"]
        assert "trained 2 steps" in res["err"]
        assert (tmp_path / f"run-{impl}" / "metrics.jsonl").is_file()


def test_asking_for_the_triton_lstm_without_triton_names_triton(tiny_data, tmp_path):
    res = _train(tiny_data, tmp_path, "triton")
    assert res["code"] == 1
    err = res["err"]
    assert err.startswith("error: lstm_impl 'triton' is not available") and err.count("\n") == 1, err
    assert "needs the triton package" in err
    assert "sessionforge[train]" not in err  # the train extra is installed; triton is what is missing
