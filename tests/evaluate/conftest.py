"""Fixtures for the eval tests: one torch thread, a split dataset, a tiny trained run."""

from __future__ import annotations

import pytest
import yaml
from torch_threads import one_torch_thread

from evalkit import write_split_dataset


@pytest.fixture(autouse=True)
def one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="session")
def split_data(tmp_path_factory):
    """A finished dataset with train / val / test sessions (see evalkit.SPLIT_LAYOUT). Never modify it."""
    return write_split_dataset(tmp_path_factory.mktemp("split-data"))


@pytest.fixture(scope="session")
def unsplit_data(tmp_path_factory):
    """The same sessions, from a manifest without a split column (a dataset built before splits)."""
    return write_split_dataset(tmp_path_factory.mktemp("unsplit-data"), split_column=False)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, split_data):
    """A run trained by `sessionforge train` for 2 steps, with checkpoints at steps 1 and 2."""
    from sessionforge.cli import main
    from sessionforge.config import to_dict
    from train.trainkit import tiny_run_config

    root = tmp_path_factory.mktemp("tiny-run")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(to_dict(tiny_run_config(steps=2, checkpoint_every=1))))
    run = root / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(config), "--data", str(split_data), "--out", str(run), "--no-progress"])
        raise SystemExit(0)
    assert (exc.value.code or 0) == 0
    return run
