"""Where a build writes: a local folder or an object-store prefix, behind one interface.

:class:`~sessionforge.pipeline.state.OutputDir` (a folder, atomic renames) and
:class:`~sessionforge.pipeline.store.StoreOutput` (any fsspec URL, completion markers as the
commit point) offer the same methods; the runner, the slice workers and the table writer use
only those, so nothing else knows where the dataset lives.
"""

from __future__ import annotations

import re
from pathlib import Path

from sessionforge.dataset.remote import is_url
from sessionforge.pipeline.state import BuildStateError, OutputDir
from sessionforge.pipeline.store import StoreOutput

BuildOutput = OutputDir | StoreOutput


def open_output(out: str | Path) -> BuildOutput:
    """The output of a build: a local folder (a path or ``file://``), else an object-store prefix."""
    text = str(out)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/(?!/)", text):
        # 's3:/bucket' (one slash) is a typo for a URL, never a local folder named 's3:'.
        raise BuildStateError(f"--out {text}: looks like a URL with one slash; write {text.split(':', 1)[0]}://...")
    if text.startswith("file://"):
        return OutputDir(Path(text[len("file://"):]).absolute())
    if is_url(text):
        return StoreOutput(text)
    return OutputDir(Path(text).absolute())
