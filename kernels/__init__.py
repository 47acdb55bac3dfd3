"""Triton LSTM kernels for sessionforge (import name ``sessionforge_kernels``).

``lstm_sequence`` (Triton; CUDA, or ``TRITON_INTERPRET=1`` on a CPU) and
``reference.lstm_reference`` (plain torch) share one signature:
``(x_proj (T, B, 4H), w_hh (4H, H), bias (4H,), h0 (B, H), c0 (B, H)) -> (y (T, B, H), (h_T, c_T))``.
Design notes: ``kernels/README.md``.

Importing this package needs torch only. triton is imported the first time a Triton
name (``lstm_sequence``, ``LSTMKernelConfig``) is asked for, so the torch reference,
the CPU training path, works on a machine without triton; asking for a Triton name
there raises ``ModuleNotFoundError`` (``name="triton"``) that says so.
"""

from __future__ import annotations

import importlib
from typing import Any

from .reference import lstm_reference

__all__ = ["lstm_sequence", "lstm_reference", "LSTMKernelConfig"]

# Public name -> the submodule that defines it; those submodules import triton.
_TRITON_NAMES = {"lstm_sequence": ".function", "LSTMKernelConfig": ".common"}


def __getattr__(name: str) -> Any:
    """Load a Triton name on first use (PEP 562), naming triton if it is missing."""
    module = _TRITON_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module, __name__), name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "triton":
            raise
        raise ModuleNotFoundError(
            f"sessionforge_kernels.{name} needs the triton package, which is not installed here "
            "(pip install triton; Linux only). The torch LSTM (lstm_impl 'torch') runs without it.",
            name="triton",
        ) from exc
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
