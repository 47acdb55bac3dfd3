"""Run the `sessionforge` CLI in-process from a test (pytest puts tests/ on the path)."""

from __future__ import annotations

from sessionforge.cli import main


def run_main(args, capsys) -> tuple[int, str, str]:
    """Call the CLI's entry point with ``args``; return (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    cap = capsys.readouterr()
    return code, cap.out, cap.err
