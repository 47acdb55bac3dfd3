"""termstream: the sessionforge shard format (see SPEC.md in this folder).

A shard holds many sessions of terminal frames (code point, colours, attributes per
cell, plus cursor and action bytes per frame), stored as key frames plus cell-span
deltas in compressed, checksummed blocks, with a footer index for O(1) seeks.

    with ShardWriter(path, rows=48, cols=160) as w:
        w.begin_session({"repo": "x"}, palette=[0x000000, 0xFFFFFF])
        w.add_frame(chars, fg, bg, attrs, (row, col, True), b"a")
        w.end_session()
    frames = open_shard(path).read_session(0)
"""

from sessionforge.formats.errors import (
    BadIndexError,
    BadMagicError,
    BlockTooLargeError,
    ChecksumError,
    CorruptBlockError,
    FormatError,
    ShardWriteError,
    TruncatedError,
    UnsupportedVersionError,
)
from sessionforge.formats.frames import (
    ATTR_BLINK,
    ATTR_BOLD,
    ATTR_ITALIC,
    ATTR_REVERSE,
    ATTR_STRIKE,
    ATTR_UNDERLINE,
    ATTR_WIDE,
    Frames,
    SessionInfo,
    frame_text,
    cell_glyph,
    palette_rgb,
)
from sessionforge.formats.reader import ShardReader, open_shard
from sessionforge.formats.writer import ShardWriter

__all__ = [
    "ShardWriter", "ShardReader", "open_shard", "Frames", "SessionInfo", "palette_rgb", "frame_text", "cell_glyph",
    "FormatError", "BadMagicError", "UnsupportedVersionError", "TruncatedError", "ChecksumError",
    "BadIndexError", "BlockTooLargeError", "CorruptBlockError", "ShardWriteError",
    "ATTR_BOLD", "ATTR_ITALIC", "ATTR_UNDERLINE", "ATTR_STRIKE", "ATTR_REVERSE", "ATTR_BLINK", "ATTR_WIDE",
]
