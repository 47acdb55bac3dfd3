"""Training refuses unfinished or corrupt datasets before it starts, and stops on a corrupt block
met while training, with one line naming the shard, the offset and the cause."""

from __future__ import annotations

import os
import shutil

import pytest

from clikit import run_main
from sessionforge.dataset import DatasetError
from sessionforge.formats import FormatError, open_shard
from sessionforge.formats import layout
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.train.loop import train
from trainkit import tiny_run_config


@pytest.fixture
def data(tiny_data, tmp_path):
    """A private copy of the tiny dataset, free to damage."""
    return shutil.copytree(tiny_data, tmp_path / "data")


@pytest.fixture
def config(tmp_path):
    import yaml

    from sessionforge.config import to_dict

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, checkpoint_every=1, workers=2))))
    return path


def _flip_every_frame_block(shard) -> None:
    """Flip one byte in the middle of every frame block's payload; size and mtime stay as they were."""
    st = os.stat(shard)
    with open_shard(shard) as r:
        spots = [int(o) + layout.BLOCK_HEADER.size + (int(n) - layout.BLOCK_HEADER.size) // 2
                 for s in r._sessions for o, n in zip(s.offsets, s.lengths)]
    with open(shard, "r+b") as f:
        for at in spots:
            f.seek(at)
            byte = f.read(1)[0]
            f.seek(at)
            f.write(bytes([byte ^ 0x40]))
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_unfinished_build_is_refused(data, tmp_path, config, capsys):
    (data / "dataset.json").unlink()
    run = tmp_path / "run"
    code, _, err = run_main(["train", "--config", config, "--data", data, "--out", run, "--no-progress"], capsys)
    assert code == 1 and err.count("\n") == 1
    assert "not a finished dataset (no dataset.json" in err
    assert not run.exists()


def test_a_shard_that_fails_its_checksum_is_refused_before_training(data, tmp_path, config, capsys):
    shard = data / "shards" / "b.tss"
    raw = bytearray(shard.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # one flipped byte
    shard.write_bytes(bytes(raw))
    run = tmp_path / "run"
    code, _, err = run_main(["train", "--config", config, "--data", data, "--out", run, "--no-progress"], capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert "shards/b.tss: sha256" in err and "does not match dataset.json" in err
    assert not (run / "metrics.jsonl").exists() and not (run / "checkpoints").exists()


def test_a_truncated_shard_is_refused_even_without_the_sha256(data, tmp_path, config, capsys):
    shard = data / "shards" / "a.tss"
    shard.write_bytes(shard.read_bytes()[:-10])
    code, _, err = run_main(["train", "--config", config, "--data", data, "--out", tmp_path / "run",
                             "--no-progress", "--no-verify"], capsys)
    assert code == 1 and "shards/a.tss" in _one_error_line(err) and "dataset.json says" in err


def test_shard_files_given_directly_are_used_as_they_are(tiny_data, tmp_path, config, capsys):
    shards = sorted((tiny_data / "shards").glob("*.tss"))
    args = [a for s in shards for a in ("--data", s)]
    code, _, err = run_main(["train", "--config", config, *args, "--out", tmp_path / "run", "--no-progress"], capsys)
    assert code == 0, err
    assert not (tmp_path / "run" / "dataset-check.json").exists()  # nothing to check them against


def test_a_corrupt_block_met_in_training_stops_it_naming_shard_offset_and_cause(data, tmp_path, config, capsys):
    tok = tmp_path / "tok.json"
    ActionTokenizer([b"def ", b"return "]).save(tok)  # given, so no action is read before training
    for shard in (data / "shards").glob("*.tss"):
        _flip_every_frame_block(shard)
    run = tmp_path / "run"
    code, _, err = run_main(["train", "--config", config, "--data", data, "--out", run, "--no-progress",
                             "--no-verify", "--tokenizer", tok], capsys)
    assert code == 1
    assert "warning: --no-verify" in err
    line = _one_error_line(err)
    assert "/shards/" in line and ".tss at byte " in line and "checksum" in line, line
    assert not (run / "checkpoints").exists()  # stopped at the first step: nothing saved


def test_the_check_is_remembered_and_corruption_after_it_still_stops_training(data, tmp_path):
    run = tmp_path / "run"
    train(tiny_run_config(steps=2, checkpoint_every=2, workers=2), data, run)
    assert (run / "dataset-check.json").is_file()
    # Damage the shards after the check, keeping size and mtime: the resume trusts the remembered
    # digests (it does not hash again), so the corruption is met by the reader while training.
    for shard in (data / "shards").glob("*.tss"):
        _flip_every_frame_block(shard)
    with pytest.raises(FormatError) as exc:
        train(tiny_run_config(steps=4, checkpoint_every=2, workers=2), data, run, resume=True)
    assert exc.value.path and exc.value.path.endswith(".tss") and exc.value.offset is not None
    assert "checksum" in exc.value.cause
    # Once the mtime moves, the digests are computed again and the run is refused up front.
    for shard in (data / "shards").glob("*.tss"):
        os.utime(shard)
    with pytest.raises(DatasetError, match="does not match dataset.json"):
        train(tiny_run_config(steps=4, checkpoint_every=2, workers=2), data, run, resume=True)
