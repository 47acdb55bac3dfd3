"""The top-level command: help, version, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from sessionforge import __version__, cli as cli_mod
from sessionforge.errors import SessionforgeError


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sessionforge.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_help_lists_only_existing_verbs_and_does_not_import_torch():
    code = (
        "import sys; from sessionforge.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NOTORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Usage: sessionforge" in out.stdout
    assert out.stdout.strip().endswith("NOTORCH")
    listed = [name for name in cli_mod.COMMANDS if f"  {name} " in out.stdout]
    assert listed == [n for n in cli_mod.COMMANDS if cli_mod._module_exists(cli_mod.COMMANDS[n][0])]


def test_unknown_verb_is_a_usage_error():
    out = run_cli("no-such-verb")
    assert out.returncode == 2
    assert "No such command" in out.stderr


def test_user_errors_become_one_line(monkeypatch, capsys):
    @click.command()
    def boom() -> None:
        raise SessionforgeError("shard.tss: offset 12: bad magic")

    monkeypatch.setitem(cli_mod.COMMANDS, "boom", ("boom", "test"))
    monkeypatch.setattr(cli_mod, "_module_exists", lambda mod: True)
    monkeypatch.setattr(cli_mod.LazyGroup, "get_command", lambda self, ctx, name: boom)
    with pytest.raises(SystemExit) as info:
        cli_mod.main(["boom"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == "error: shard.tss: offset 12: bad magic\n"


def test_missing_file_oserror_is_one_line(monkeypatch, capsys):
    @click.command()
    def boom() -> None:
        open("/definitely/not/here.tss", "rb")

    monkeypatch.setattr(cli_mod.LazyGroup, "get_command", lambda self, ctx, name: boom)
    with pytest.raises(SystemExit) as info:
        cli_mod.main(["boom"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not/here.tss" in err and err.count("\n") == 1


def test_cli_does_not_rely_on_importlib_util_being_preloaded():
    # An editable install's import hook loads importlib.util at start-up; a wheel install
    # does not. Drop it to see the CLI as a wheel-installed user does.
    code = (
        "import sys, importlib\n"
        "sys.modules.pop('importlib.util', None)\n"
        "if hasattr(importlib, 'util'):\n    del importlib.util\n"
        "from sessionforge.cli import main\n"
        "try:\n    main(['inspect', '--help'])\n    print('EXIT', 0)\nexcept SystemExit as e:\n    print('EXIT', e.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Usage: sessionforge inspect" in out.stdout, out.stderr
    assert "EXIT 0" in out.stdout


def test_missing_train_extra_is_one_line(monkeypatch, capsys):
    @click.command()
    def needs_torch() -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(cli_mod.LazyGroup, "get_command", lambda self, ctx, name: needs_torch)
    with pytest.raises(SystemExit) as info:
        cli_mod.main(["train"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "sessionforge[train]" in err and err.count("\n") == 1


def test_other_missing_modules_are_bugs_and_keep_their_traceback(monkeypatch):
    @click.command()
    def broken() -> None:
        raise ModuleNotFoundError("No module named 'nonexistent_pkg'", name="nonexistent_pkg")

    monkeypatch.setattr(cli_mod.LazyGroup, "get_command", lambda self, ctx, name: broken)
    with pytest.raises(ModuleNotFoundError):
        cli_mod.main(["x"])
