"""Which shards a dataset folder holds for training, and one-line errors of `tokenizer show`."""

from __future__ import annotations

import json

import pytest

from sessionforge.cli import main
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.dataset import DatasetError, ShardSet
from synth import write_synthetic_shard


def _dataset(root, names):
    """A finished-looking dataset folder: shards/ plus a dataset.json listing ``names``."""
    (root / "shards").mkdir(parents=True)
    for k, name in enumerate(names):
        write_synthetic_shard(root / "shards" / name, sessions=1, frames=20, seed=k)
    doc = {"shards": {n: {"sha256": "0" * 64, "bytes": 0} for n in names}}
    (root / "dataset.json").write_text(json.dumps(doc))


def test_dataset_folder_lists_only_its_own_shards(tmp_path):
    root = tmp_path / "data"
    _dataset(root, ["a.tss", "b.tss"])
    # leftovers of a killed task, and a dataset built inside this one: neither belongs to it
    (root / ".build" / "staging" / "t.1234").mkdir(parents=True)
    write_synthetic_shard(root / ".build" / "staging" / "t.1234" / "a.tss", sessions=1, frames=20)
    _dataset(root / "nested", ["c.tss"])
    write_synthetic_shard(root / "shards" / "stray.tss", sessions=1, frames=20)  # unlisted
    s = ShardSet(root)
    assert [p.relative_to(root).as_posix() for p in s.paths] == ["shards/a.tss", "shards/b.tss"]
    assert len(s.sessions) == 2


def test_folder_without_dataset_json_uses_shards_dir_or_its_own_files(tmp_path):
    root = tmp_path / "partial"
    (root / "shards").mkdir(parents=True)
    write_synthetic_shard(root / "shards" / "x.tss", sessions=1, frames=20)
    write_synthetic_shard(root / "other" / "y.tss", sessions=1, frames=20)  # a subfolder: not ours
    assert [p.name for p in ShardSet(root).paths] == ["x.tss"]
    flat = tmp_path / "flat"
    write_synthetic_shard(flat / "b.tss", sessions=1, frames=20)
    write_synthetic_shard(flat / "a.tss", sessions=1, frames=20)
    write_synthetic_shard(flat / "sub" / "c.tss", sessions=1, frames=20)
    (flat / ".a.tss.tmp-1-ab.tss").write_bytes(b"partial")  # a writer's temporary file
    assert [p.name for p in ShardSet(flat).paths] == ["a.tss", "b.tss"]


def test_a_listed_shard_that_is_missing_is_a_data_error(tmp_path):
    root = tmp_path / "data"
    _dataset(root, ["a.tss", "b.tss"])
    (root / "shards" / "b.tss").unlink()
    with pytest.raises(DatasetError, match="b.tss: listed in .*dataset.json but missing"):
        ShardSet(root)


def test_tokenizer_show_bad_escape_is_one_clear_line(tmp_path, capsys):
    path = tmp_path / "tok.json"
    ActionTokenizer([b"ab"]).save(path)
    with pytest.raises(SystemExit) as exc:
        main(["tokenizer", "show", str(path), "--encode", "\\x"])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert "--encode" in err and "not a valid escaped string" in err and "Traceback" not in err
    main(["tokenizer", "show", str(path), "--encode", "a\\x1bb"])  # valid escapes still work
    assert "b'a\\x1bb'" in capsys.readouterr().out
