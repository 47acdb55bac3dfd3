"""Packaging rules: every sub-package is installed, and the data side never needs torch."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sessionforge").rglob("__init__.py")
    }
    if (ROOT / "kernels" / "__init__.py").exists():
        found.add("sessionforge_kernels")
    missing = found - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_data_side_imports_without_torch():
    # A data-building install has no torch: every module of the data side must import in a
    # process where torch and triton cannot be imported at all. Nor is numba loaded (optional,
    # ~0.3 s to import): it loads with the first ShardWriter or frame decode.
    code = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['torch'] = sys.modules['triton'] = None  # import fails, find_spec says absent\n"
        "import sessionforge\n"
        "for pkg in ['formats', 'replay', 'pipeline', 'dataset', 'view']:\n"
        "    mod = importlib.import_module(f'sessionforge.{pkg}')\n"
        "    for info in pkgutil.iter_modules(mod.__path__, mod.__name__ + '.'):\n"
        "        if info.name.endswith('_jit'):\n"
        "            continue  # the numba kernels: loaded on demand, and they need numba only\n"
        "        importlib.import_module(info.name)\n"
        "for m in ['sessionforge.cli', 'sessionforge.config', 'sessionforge.files']:\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in ('torch', 'triton', 'numba')]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_file_over_500_lines():
    big = []
    for path in list((ROOT / "sessionforge").rglob("*.py")) + list((ROOT / "kernels").rglob("*.py")):
        n = sum(1 for _ in path.open(encoding="utf-8"))
        if n > 500:
            big.append(f"{path.relative_to(ROOT)} ({n} lines)")
    assert not big, f"split these files by responsibility: {big}"
