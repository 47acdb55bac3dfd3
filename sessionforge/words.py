"""Counts in messages: ``count(1, "session")`` is "1 session", ``count(2, "session")`` "2 sessions"."""


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (``plural`` for irregular nouns), with
    thousands separators."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
