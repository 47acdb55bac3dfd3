"""Error types shared across sessionforge.

Every error a *user* can cause (bad input file, bad option, corrupt shard, unknown
config key) derives from :class:`SessionforgeError`; the CLI turns it into one
readable line and a non-zero exit code. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class SessionforgeError(Exception):
    """Base class of every error caused by input rather than by a bug."""


class ConfigError(SessionforgeError, ValueError):
    """A configuration file or ``--set`` override is invalid (unknown key, wrong type)."""
