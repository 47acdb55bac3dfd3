"""Selecting sessions by the manifest's split column (sessionforge.dataset.splits)."""

from __future__ import annotations

import polars as pl
import pytest

from sessionforge.dataset import DatasetError, ShardSet, read_manifest
from sessionforge.dataset.splits import restrict, select_split, session_splits


def _names(shards: ShardSet, refs) -> list[str]:
    return [f"{shards.paths[r.shard].stem}-{r.session}" for r in refs]


def test_sessions_are_matched_to_their_manifest_rows(split_data):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data)
    assert session_splits(shards, manifest) == ["train", "train", "train", "val", "test", "train", "val"]
    assert _names(shards, select_split(shards, manifest, "val")) == ["b-0", "c-1"]
    assert _names(shards, select_split(shards, manifest, "test")) == ["b-1"]
    assert _names(shards, select_split(shards, manifest, "train")) == ["a-0", "a-1", "a-2", "c-0"]


def test_matching_does_not_depend_on_manifest_row_order(split_data):
    shards = ShardSet(split_data)
    shuffled = read_manifest(split_data).reverse()
    assert _names(shards, select_split(shards, shuffled, "val")) == ["b-0", "c-1"]


def test_without_a_split_column_everything_is_train_and_val_is_refused(unsplit_data):
    shards = ShardSet(unsplit_data)
    manifest = read_manifest(unsplit_data)
    assert len(select_split(shards, manifest, "train")) == 7
    with pytest.raises(DatasetError, match="--split train"):
        select_split(shards, manifest, "val")
    with pytest.raises(DatasetError, match="no manifest"):
        select_split(shards, None, "test")


def test_a_null_split_counts_as_train_never_as_held_out(split_data):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data).with_columns(
        pl.when(pl.col("id") == "b-0").then(None).otherwise(pl.col("split")).alias("split"))
    assert _names(shards, select_split(shards, manifest, "val")) == ["c-1"]
    assert "b-0" in _names(shards, select_split(shards, manifest, "train"))


def test_bad_names_and_missing_rows_are_clear(split_data):
    shards = ShardSet(split_data)
    manifest = read_manifest(split_data)
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        select_split(shards, manifest, "dev")
    with pytest.raises(DatasetError, match="c.tss: session 1 has no manifest row"):
        select_split(shards, manifest.filter(pl.col("id") != "c-1"), "val")
    odd = manifest.with_columns(pl.lit("holdout").alias("split"))
    with pytest.raises(DatasetError, match="'holdout'"):
        select_split(shards, odd, "val")
    empty = manifest.with_columns(pl.lit("train").alias("split"))
    with pytest.raises(DatasetError, match="holds no session .*train 7, val 0, test 0"):
        select_split(shards, empty, "val")


def test_restrict_gives_a_shardset_of_one_split(split_data):
    shards = ShardSet(split_data)
    val = restrict(shards, select_split(shards, read_manifest(split_data), "val"))
    assert len(val.sessions) == 2 and len(shards.sessions) == 7
    assert val.paths == shards.paths
