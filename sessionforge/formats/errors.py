"""Error types of the termstream format.

Every problem with a shard file raises a subclass of :class:`FormatError`, and every
message names the file, the byte offset where the problem was found and the cause,
so a user can tell a truncated download from a flipped bit from a newer format.
Misuse of the writer (wrong shapes, bad palette indices, calls out of order) raises
:class:`ShardWriteError`, which is also a :class:`ValueError`.
"""

from __future__ import annotations

import os

from sessionforge.errors import SessionforgeError


class FormatError(SessionforgeError):
    """A shard cannot be read or written as termstream.

    Attributes: ``path`` (the file), ``offset`` (byte offset in the file where the
    problem was detected, or None when no single offset applies) and ``cause``.
    """

    def __init__(self, path: str | os.PathLike | None, offset: int | None, cause: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.offset = offset
        self.cause = cause
        where = self.path or "<shard>"
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{where}{at}: {cause}")


class BadMagicError(FormatError):
    """The file does not start with the termstream magic bytes (not a shard)."""


class UnsupportedVersionError(FormatError):
    """The shard's major format version is not one this reader understands."""


class TruncatedError(FormatError):
    """The file ends early: a header, block or the footer is cut off (or never finalized)."""


class ChecksumError(FormatError):
    """A header, block, index or footer checksum does not match its bytes."""


class BadIndexError(FormatError):
    """The footer index is structurally invalid (offsets, counts or types out of range)."""


class BlockTooLargeError(FormatError):
    """A block claims to inflate beyond the reader's limit (guards against decompression bombs)."""


class CorruptBlockError(FormatError):
    """A block passed its checksum but its content is inconsistent or does not decompress."""


class ShardWriteError(FormatError, ValueError):
    """The writer was used wrongly: bad shapes, dtypes, palette indices or call order."""
