"""A dataset's shard list, staging cleared after a build, --out refused inside a dataset, one
history walk per repository, and verify reading session headers."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from buildkit import small_config, snapshot
from sessionforge.dataset import DatasetError, dataset_shards, enclosing_dataset
from sessionforge.pipeline.runner import build_dataset
from sessionforge.pipeline.state import BuildStateError
from sessionforge.pipeline.verify import verify_dataset
from sessionforge.formats import layout, open_shard


def test_finished_build_lists_its_shards_and_leaves_no_staging(reference):
    names = sorted(json.loads((reference / "dataset.json").read_text())["shards"])
    assert [p.name for p in dataset_shards(reference)] == names
    assert all(p.parent == reference / "shards" for p in dataset_shards(reference))
    assert not (reference / ".build" / "staging").exists()


def test_shard_list_ignores_staging_nested_and_hidden_files(reference, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(reference, out)
    expected = dataset_shards(out)
    some = expected[0]
    (out / ".build" / "staging" / "t.1").mkdir(parents=True)
    shutil.copy(some, out / ".build" / "staging" / "t.1" / some.name)
    shutil.copy(some, out / "shards" / "zz-unlisted.tss")
    assert dataset_shards(out) == expected
    (out / "dataset.json").unlink()  # an unfinished build: shards/ only, never .build/ or hidden files
    (out / "shards" / ".x.tss.tmp-1-ab").write_bytes(b"")
    assert dataset_shards(out) == sorted(expected + [out / "shards" / "zz-unlisted.tss"])
    (out / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read its shard list"):
        dataset_shards(out)


def test_out_inside_an_existing_dataset_is_refused(reference, repos, tmp_path):
    assert enclosing_dataset(reference / "sub" / "deeper") == reference.resolve()
    assert enclosing_dataset(reference) is None and enclosing_dataset(tmp_path / "x") is None
    with pytest.raises(BuildStateError, match="inside the dataset folder"):
        build_dataset(repos[:1], reference / "nested", small_config("local"))
    assert not (reference / "nested").exists()


def test_replay_slices_take_their_commits_from_the_plan(reference, repos, tmp_path, monkeypatch):
    import sessionforge.pipeline.plan as plan

    calls = []
    real = plan.list_commits

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, "list_commits", counting)
    out = tmp_path / "data"
    build_dataset(repos, out, small_config("local"))   # 2 + 1 + 1 slices: one walk per repository
    assert len(calls) == len(repos)
    assert snapshot(out) == snapshot(reference)


def test_verify_reads_session_headers(reference, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(reference, out)
    doc = json.loads((out / "dataset.json").read_text())
    name = sorted(doc["shards"])[0]
    path = out / "shards" / name
    with open_shard(path) as r:
        at = r._sessions[0].header          # the first session's header block
    data = bytearray(path.read_bytes())
    data[at + layout.BLOCK_HEADER.size] ^= 0xFF
    path.write_bytes(bytes(data))
    # a dataset.json that matches the damaged file: only reading the header can catch it
    doc["shards"][name]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (out / "dataset.json").write_text(json.dumps(doc))
    rep = verify_dataset(out)
    assert not rep.ok and any(p.startswith(f"shards/{name}:") and "sha256" not in p for p in rep.problems), \
        rep.problems
