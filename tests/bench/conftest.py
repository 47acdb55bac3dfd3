"""Bench tests run on one torch thread (the benches set it; this restores the default after)."""

from __future__ import annotations

import pytest
from torch_threads import one_torch_thread


@pytest.fixture(autouse=True)
def one_thread():
    yield from one_torch_thread()
