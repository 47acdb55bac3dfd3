"""View commands: manifest shards looked up under the dataset only (never the cwd), render validates
before creating -o and saves each PNG as it is drawn, session labels are text in the progress bar."""

from __future__ import annotations

import polars as pl
from viewkit import run_cli

from sessionforge.dataset import open_session


def _dataset(tmp_path, synth_shard, ids=("repoA/0", "repoA/1")):
    data = tmp_path / "data"
    (data / "shards").mkdir(parents=True)
    (data / "shards" / "part-0.tss").write_bytes(synth_shard.read_bytes())
    pl.DataFrame({"id": list(ids), "shard": ["part-0.tss"] * 2, "index": [0, 1]}).write_parquet(
        data / "manifest.parquet")
    return data


def test_manifest_shard_is_never_taken_from_the_cwd(synth_shard, tmp_path, monkeypatch):
    data = _dataset(tmp_path, synth_shard)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "part-0.tss").write_bytes(b"some other file of the same name" * 8)
    monkeypatch.chdir(elsewhere)
    with open_session(data, "repoA/1") as ref:
        assert ref.index == 1 and ref.frames == 45   # the dataset's shard, not ./part-0.tss


def test_render_creates_no_folder_for_a_bad_request(synth_shard, tmp_path, capsys):
    for args in (["--frames", "999"], ["--session", "7"], ["--frames", "x"]):
        out = tmp_path / "never"
        code, err = run_cli(["render", synth_shard, *args, "-o", out], capsys)
        assert code == 1 and err.startswith("error: "), (args, err)
        assert not out.exists(), args


def test_render_saves_each_frame_as_it_is_drawn(synth_shard, tmp_path, capsys, monkeypatch):
    import sessionforge.commands.render as cmd

    out = tmp_path / "png"
    real, drawn = cmd.render_frame, []

    def render_frame(*a, **k):   # when frame n is drawn, frames 0..n-1 are already on disk
        assert len(list(out.glob("*.png"))) == len(drawn)
        drawn.append(1)
        return real(*a, **k)

    monkeypatch.setattr(cmd, "render_frame", render_frame)
    code, err = run_cli(["render", synth_shard, "--frames", "0,5,10,-1", "-o", out], capsys)
    assert code == 0, err
    assert len(drawn) == 4 and len(list(out.glob("*.png"))) == 4


def test_markup_in_a_session_id_is_shown_verbatim_in_the_progress_bar(synth_shard, tmp_path, capsys,
                                                                       monkeypatch):
    data = _dataset(tmp_path, synth_shard, ids=("r[red]z/[id].tsx", "r[/x]"))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")   # rich draws its bar as on a terminal
    code, err = run_cli(["export", data, "--session", "r[/x]", "-o", tmp_path / "a.cast"], capsys)
    assert code == 0, err
    assert "r[/x]" in err
    code, err = run_cli(["render", data, "--session", "r[red]z/[id].tsx", "-o", tmp_path / "png"], capsys)
    assert code == 0, err
    assert "r[red]z/[id].tsx" in err
