"""FrameSink: the contract of what :func:`replay_repository` writes frames into.

:class:`sessionforge.formats.ShardWriter` is the usual sink; the build pipeline wraps
writers (one shard per size budget) and ``verify`` compares frames instead of storing
them. Any object with these three methods will do: the Protocol is structural, so
implementers need not inherit from it.

A sink may also define ``attach_live(editor, terminal)``: replay then hands it the live
editor and terminal once per session, right after ``begin_session`` and before the first
frame. ``rollout`` uses it to take over the editor at a recorded frame. It is optional and
not part of the Protocol, so that writers need not define it.

Replay calls, for every session, ``begin_session`` once, ``add_frame`` once per frame
(the first frame shows the editor before any key, with action ``b""``), then
``end_session`` once; sessions never overlap. Every argument is passed positionally,
which is why the parameters below are positional-only: an implementer may name them
as it likes (``*args`` works too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["FrameSink"]


@runtime_checkable
class FrameSink(Protocol):
    """What replay writes into. ``isinstance(x, FrameSink)`` checks the method names only."""

    def begin_session(self, meta: dict[str, Any], palette: Sequence[int], /) -> None:
        """Start a session.

        ``meta``: the session's msgpack-able description (``repo``, ``first_commit``,
        ``rows``, ``cols``, ``replay_config``, ``editor_version``; see PIPELINE.md).
        ``palette``: the colours (0xRRGGBB ints) that the frames' fg/bg indices refer to.
        """

    def add_frame(self, chars: np.ndarray, fg: np.ndarray, bg: np.ndarray, attrs: np.ndarray,
                  cursor: tuple[int, int, bool], action: bytes,
                  changed: Sequence[tuple[int, int, int]] | None, /) -> None:
        """Append one frame of the open session.

        ``chars`` (R, C) uint32 code points, ``fg``/``bg`` (R, C) uint8 palette indices,
        ``attrs`` (R, C) uint8 ``ATTR_*`` bits; ``cursor`` is ``(row, col, visible)``;
        ``action`` the key bytes that produced the frame (``b""`` for none). ``changed``
        lists ``(row, col_start, col_stop)`` spans that cover every cell that differs
        from the previous frame of the session (``None``: not known).

        The planes are the terminal's own buffers, overwritten in place by the next
        key: a sink that keeps them must copy them before it returns.
        """

    def end_session(self, extra_meta: dict[str, Any], /) -> object:
        """Finish the open session; ``extra_meta`` (``last_commit``, ``commits``, ``frames``,
        ``skipped``, ``lossless_failures``, ``markers``, ...) completes its meta.

        What it returns is not used by replay (``ShardWriter`` returns the session's
        :class:`~sessionforge.formats.SessionInfo`).
        """
