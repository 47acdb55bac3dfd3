"""`sessionforge replay`: --out checked before replaying, user strings never read as markup,
--show prints only safe text and decodes only the picked frames."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from clikit import run_main
from gitfactory import RepoFactory

from sessionforge.cli import cli


def _repo(tmp_path, name="repo"):
    f = RepoFactory(tmp_path / name)
    f.commit({"hello.py": "print('hi')\n"}, "one")
    f.commit({"[id].tsx": "export default 1\n"}, "two")
    return f


@pytest.fixture
def no_replay(monkeypatch):
    """Fail the test if the replay itself starts."""
    import sessionforge.replay as replay

    def boom(*a, **k):
        raise AssertionError("replay ran although --out was unusable")

    monkeypatch.setattr(replay, "replay_repository", boom)


def test_out_directory_is_rejected_before_replaying(tmp_path, capsys, no_replay):
    f = _repo(tmp_path)
    (tmp_path / "outdir").mkdir()
    code, _, err = run_main(["replay", f.path, "--out", tmp_path / "outdir"], capsys)
    assert code == 1 and err.startswith("error: --out") and "is a directory" in err and err.count("\n") == 1


def test_out_parent_that_cannot_be_created_is_rejected_before_replaying(tmp_path, capsys, no_replay):
    f = _repo(tmp_path)
    (tmp_path / "afile").write_text("x")
    code, _, err = run_main(["replay", f.path, "--out", tmp_path / "afile" / "repo.tss"], capsys)
    assert code == 1 and err.startswith("error: --out") and err.count("\n") == 1


def test_markup_in_repo_path_and_lossless_failure_is_printed_verbatim(tmp_path, monkeypatch):
    from sessionforge.replay import planner

    f = _repo(tmp_path, name="r[red]z")
    monkeypatch.setattr(planner.Planner, "save", lambda self: None)   # every file fails losslessness
    res = CliRunner().invoke(cli, ["replay", str(f.path), "--out", str(tmp_path / "o[/x].tss")])
    assert res.exit_code == 3, res.output
    assert "r[red]z" in res.output and "o[/x].tss" in res.output
    assert "[id].tsx" in res.output       # a Next.js route file in a lossless-failure line


def test_show_prints_no_control_code_points_and_decodes_only_picked_frames(tmp_path, monkeypatch, capsys):
    from sessionforge.commands.replay import _show_frames
    from sessionforge.formats import ShardReader, open_shard

    f = _repo(tmp_path)
    out = tmp_path / "repo.tss"
    assert CliRunner().invoke(cli, ["replay", str(f.path), "--out", str(out)]).exit_code == 0
    with open_shard(out) as r:
        total = sum(i.frames for i in r.sessions)
    real = ShardReader.read_frames
    calls = []

    def read_frames(self, i, start, stop, out=None):
        calls.append((start, stop))
        fr = real(self, i, start, stop, out)
        fr.chars = fr.chars.copy()
        fr.chars[:, 0, :3] = [0x1B, 0x07, 0x9B]   # ESC, BEL, CSI stored in the frame
        return fr

    monkeypatch.setattr(ShardReader, "read_frames", read_frames)
    _show_frames(str(out), 3)
    shown = capsys.readouterr().out
    assert shown.count("--- session 0 frame") == 3 and f"frame {total - 1} " in shown
    assert not any(ch in shown for ch in "\x1b\x07\x9b")
    assert sorted(calls) == [(0, 1), ((total - 1) // 2, (total - 1) // 2 + 1), (total - 1, total)]
