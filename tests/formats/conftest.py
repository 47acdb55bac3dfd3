"""Fixtures of the format tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["numpy", "compiled"])
def decoder(request) -> str:
    """Each frame decoder in turn (the compiled one needs numba, which the dev extra installs)."""
    if request.param == "compiled":
        pytest.importorskip("numba")
    return request.param


@pytest.fixture(params=["numpy", "compiled"])
def encoder(request) -> str:
    """Each whole-frame diff of the writer in turn (the compiled one needs numba)."""
    if request.param == "compiled":
        pytest.importorskip("numba")
    return request.param
