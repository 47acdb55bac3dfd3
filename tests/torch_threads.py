"""One torch thread for tests of tiny models (thread synchronisation costs more than the maths)."""

from __future__ import annotations

from typing import Iterator

import torch


def one_torch_thread() -> Iterator[None]:
    """Body of an autouse fixture: run the test with ``torch.set_num_threads(1)``, then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
