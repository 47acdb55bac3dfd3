"""Shared pytest configuration. Area-specific fixtures live next to their tests."""

import os

# Triton kernels run on the CPU through the interpreter in tests (no GPU in CI).
os.environ.setdefault("TRITON_INTERPRET", "1")
