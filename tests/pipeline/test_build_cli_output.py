"""What build-dataset and stats print: repository names, paths and messages are text, never rich markup
(a repository `r[red]z` or a Next.js file `[id].tsx` is shown as-is, `[/x]` raises nothing)."""

from __future__ import annotations

import io

from buildkit import BUILD_ARGS, make_small_repo
from clikit import run_main
from rich.console import Console

from sessionforge.pipeline.jobs import Failure
from sessionforge.pipeline.build_progress import BuildProgress, summary_table




def _render(renderable) -> str:
    con = Console(file=io.StringIO(), width=200, color_system=None)
    con.print(renderable)
    return con.file.getvalue()


def test_build_and_stats_print_markup_like_names_verbatim(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")   # the whole repository path fits in its column
    repo = tmp_path / "r[red]z[/x]"
    make_small_repo(repo, commits=3, seed=5)
    out = tmp_path / "data"   # (a "[" in the dataset path trips polars' globbing in pipeline/stats.py)
    code, stdout, err = run_main(["build-dataset", repo, "--out", out, *BUILD_ARGS], capsys)
    assert code == 0, err
    assert "build summary" in stdout
    code, stdout, err = run_main(["stats", out], capsys)
    assert code == 0, err
    assert "r[red]z[/x]" in stdout


def test_summary_and_progress_treat_reasons_and_phases_as_text():
    totals = {k: 1 for k in ("repositories_ok", "repositories_failed", "filtered_out", "commits", "sessions",
                             "shards", "frames", "bytes", "lossless_failures")}
    totals.update(bytes_per_frame=2.0, skipped={"[id].tsx": 3, "r[red]z": 1})
    shown = _render(summary_table({"totals": totals}, 10.0))
    assert "skipped: [id].tsx" in shown and "skipped: r[red]z" in shown
    for tty in (False, True):   # a log, and the live bar on a terminal
        buf = io.StringIO()
        p = BuildProgress(Console(file=buf, force_terminal=tty, width=200, color_system=None))
        p.start("plan[/x] [red]", 1, repos=["r[red]z"])
        p.job_done("r[red]z/[id].tsx", Failure("replay", "bad [/b] path"), repo="r[red]z")
        p.stop()
        text = buf.getvalue()
        assert "plan[/x] [red]" in text, (tty, text)
        assert "r[red]z/[id].tsx: FAILED at replay: bad [/b] path" in text  # failures show on a terminal too


def test_dataset_paths_with_brackets_work_everywhere(tmp_path, capsys):
    # polars treats "[" in a path as a glob unless told not to; a dataset folder may be named anything
    repo = tmp_path / "repo"
    make_small_repo(repo, commits=2, seed=6)
    out = tmp_path / "data[v1]"
    code, _, err = run_main(["build-dataset", repo, "--out", out, *BUILD_ARGS], capsys)
    assert code == 0, err
    code, stdout, err = run_main(["stats", out], capsys)
    assert code == 0, err
    assert "frames" in stdout
    shard = next((out / "shards").glob("*.tss"))
    code, stdout, err = run_main(["inspect", shard], capsys)
    assert code == 0, err
    assert "data[v1]" in stdout
    code, _, err = run_main(["export", out, "--session", "0", "--format", "text", "--frames", "0:2",
                          "-o", tmp_path / "f.txt"], capsys)
    assert code == 0, err
    assert (tmp_path / "f.txt").read_text().strip()


def test_exit_status_when_every_repository_fails_or_only_some(tmp_path, capsys):
    code, _, err = run_main(["build-dataset", tmp_path / "missing", "--out", tmp_path / "d1", *BUILD_ARGS], capsys)
    assert code == 1
    assert "nothing was built" in err and "Traceback" not in err
    good = tmp_path / "good"
    make_small_repo(good, commits=2, seed=8)
    code, _, err = run_main(["build-dataset", good, tmp_path / "missing", "--out", tmp_path / "d2", *BUILD_ARGS],
                            capsys)
    assert code == 0, err   # some repositories built: the failure is an error row, not an exit status
    assert "failed: " in err
