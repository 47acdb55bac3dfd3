"""sessionforge.dataset: the read side of a dataset folder, for every consumer.

``view``, ``train``, ``stats``, ``verify`` (and later ``eval`` and ``rollout``) read datasets
through this package, and nothing else lists shards. Modules::

    layout     folder layout names; which shard files belong to a dataset
    tables     dataset.json, manifest.parquet, errors.parquet (schemas and readers)
    integrity  shards against the sizes and sha256 recorded in dataset.json
    sessions   ShardSet: every session of a set of shards (training, eval)
    windows    Unit, make_units: the one rule cutting sessions into training windows
    splits     which split a repository belongs to, and a split's sessions
    remote     datasets at URLs: fetched into a checked local cache
    lookup     open_session: one session by id, index or SHARD:INDEX (view commands)

Data side: never imports torch.
"""

from sessionforge.dataset.errors import DatasetError
from sessionforge.dataset.integrity import ShardCheck, check_shards, require_intact
from sessionforge.dataset.layout import dataset_shards, enclosing_dataset, shard_files_on_disk
from sessionforge.dataset.lookup import OpenSession, open_session
from sessionforge.dataset.sessions import SessionRef, ShardSet
from sessionforge.dataset.tables import DatasetTables, read_dataset, read_manifest

__all__ = [
    "DatasetError", "DatasetTables", "OpenSession", "SessionRef", "ShardCheck", "ShardSet",
    "check_shards", "dataset_shards", "enclosing_dataset", "open_session", "read_dataset",
    "read_manifest", "require_intact", "shard_files_on_disk",
]
