"""Model tests run on one thread: tiny tensors lose to thread synchronisation."""

from __future__ import annotations

import pytest
from torch_threads import one_torch_thread


@pytest.fixture(autouse=True)
def one_thread():
    yield from one_torch_thread()
