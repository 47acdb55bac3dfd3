"""Fixtures of the format tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["numpy", "compiled"])
def decoder(request) -> str:
    """Each frame decoder in turn (the compiled one needs numba, which the dev extra installs)."""
    if request.param == "compiled":
        pytest.importorskip("numba")
    return request.param
