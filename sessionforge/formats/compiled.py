"""Choosing between the numpy and the compiled (numba) code paths of the format.

numba is optional (the ``fast`` extra). Reader and writer take a choice of
``"auto"`` (compiled when numba is installed and imports cleanly), ``"compiled"``
(numba required) or ``"numpy"``; both paths give identical results.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings

CHOICES = ("auto", "compiled", "numpy")


def check_choice(choice: str, what: str) -> None:
    """Raise ValueError unless ``choice`` is one of :data:`CHOICES`."""
    if choice not in CHOICES:
        raise ValueError(f"unknown {what} {choice!r}: choose one of {', '.join(CHOICES)}")


def use_compiled(choice: str, module: str, what: str) -> bool:
    """Whether to use the compiled path for ``what`` (``"decoder"``, ``"encoder"``); imports ``module`` if so.

    Importing compiles nothing yet (numba compiles each kernel on its first call and
    caches it on disk). A broken numba install warns under ``"auto"`` and falls back.
    """
    check_choice(choice, what)
    if choice == "numpy" or (choice == "auto" and importlib.util.find_spec("numba") is None):
        return False
    try:
        importlib.import_module(module)
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: numba found no cache directory
        if choice == "compiled":
            raise ImportError(f"{what}='compiled' needs numba, which failed to import: {exc} "
                              "(pip install 'sessionforge[fast]')") from exc
        warnings.warn(f"numba is installed but failed to import ({exc}); using the numpy {what}", stacklevel=3)
        return False
    return True
