"""How sessions are cut into training windows: the one rule training and evaluation share.

A session of F frames holds ``(F - 1) // L`` windows of L frames (each window also needs the
frame after it: its keys are the last target). Consecutive windows of one session are grouped
into *units* of at most ``stream_windows`` windows; a stream reads a unit's windows in order,
carrying the recurrent state from one to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sessionforge.dataset.sessions import SessionRef


@dataclass(frozen=True)
class Unit:
    """``windows`` consecutive windows of one session, the first starting at frame ``start``."""

    ref: SessionRef
    start: int
    windows: int


def make_units(sessions: Iterable[SessionRef], window: int, stream_windows: int) -> list[Unit]:
    """All units of ``sessions`` in their order (session, start)."""
    units = []
    for ref in sessions:
        n = (ref.frames - 1) // window  # windows with L+1 frames available
        for w0 in range(0, n, stream_windows):
            units.append(Unit(ref, w0 * window, min(stream_windows, n - w0)))
    return units
