"""The read side's one error type."""

from sessionforge.errors import SessionforgeError


class DatasetError(SessionforgeError):
    """A dataset folder, its tables or one of its shards cannot be used as asked; the message
    names the file and the cause."""
