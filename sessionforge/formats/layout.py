"""Byte layout of a termstream shard: file header, block header, footer, codecs.

Everything here is fixed by ``SPEC.md``; change the two together. All integers are
little-endian. A shard is::

    file header (24 B) | block | block | ... | index block | footer (24 B)

and every block is a 16-byte block header followed by its (compressed) payload.
"""

from __future__ import annotations

import lzma
import struct
import zlib

import zstandard

from sessionforge.formats.errors import (
    BadMagicError,
    BlockTooLargeError,
    ChecksumError,
    CorruptBlockError,
    TruncatedError,
    UnsupportedVersionError,
)

MAGIC = b"\x89TSS\r\n\x1a\n"  # PNG-style: catches text-mode mangling of line endings
FOOTER_MAGIC = b"TSSEND\r\n"
VERSION_MAJOR = 1
VERSION_MINOR = 0

# file header: magic, major, minor, rows, cols, codec, reserved u8, reserved u16, crc32(bytes 0..19)
FILE_HEADER = struct.Struct("<8sHHHHBBHI")
# block header: kind, codec, reserved u16, stored_len, raw_len, crc32(header bytes 0..11 + payload)
BLOCK_HEADER = struct.Struct("<BBHIII")
# footer: index block offset, index block length (header + payload), crc32(bytes 0..11), magic
FOOTER = struct.Struct("<QII8s")
assert FILE_HEADER.size == 24 and BLOCK_HEADER.size == 16 and FOOTER.size == 24

KIND_SESSION = 1
KIND_FRAMES = 2
KIND_INDEX = 3
KINDS = {KIND_SESSION: "session header", KIND_FRAMES: "frame block", KIND_INDEX: "index"}

CODEC_NONE = 0
CODEC_XZ = 1
CODEC_ZSTD = 2
CODEC_IDS = {"xz": CODEC_XZ, "zstd": CODEC_ZSTD}
CODEC_NAMES = {CODEC_NONE: "none", CODEC_XZ: "xz", CODEC_ZSTD: "zstd"}

# xz blocks are raw LZMA2 streams (no .xz container: it would cost ~60 bytes a block).
# The decoder must use the same dictionary size, so it is part of the format.
XZ_DICT_SIZE = 8 << 20
XZ_PRESET = 6
ZSTD_LEVEL = 12  # ~5x cheaper than 19 for ~8% more bytes: zstd is the fast option
DEFAULT_MAX_BLOCK_RAW = 256 << 20  # reader limit on a block's claimed inflated size


def pack_file_header(rows: int, cols: int, codec: int) -> bytes:
    """The 24-byte file header."""
    body = FILE_HEADER.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, rows, cols, codec, 0, 0, 0)[:20]
    return body + struct.pack("<I", zlib.crc32(body))


def unpack_file_header(path: str, data: bytes) -> tuple[int, int, int, int]:
    """Validate a file header; returns (minor version, rows, cols, codec id)."""
    if len(data) < 8 or data[:8] != MAGIC:
        if len(data) < 8 and MAGIC.startswith(data):
            raise TruncatedError(path, len(data), "file ends inside the file header")
        raise BadMagicError(path, 0, f"not a termstream shard (magic {data[:8]!r}, expected {MAGIC!r})")
    if len(data) < FILE_HEADER.size:
        raise TruncatedError(path, len(data), "file ends inside the file header")
    magic, major, minor, rows, cols, codec, _, _, crc = FILE_HEADER.unpack(data[: FILE_HEADER.size])
    if zlib.crc32(data[:20]) != crc:
        raise ChecksumError(path, 20, "file header checksum mismatch")
    if major != VERSION_MAJOR:
        raise UnsupportedVersionError(
            path, 8, f"format version {major}.{minor}; this reader understands {VERSION_MAJOR}.x"
        )
    if codec not in (CODEC_XZ, CODEC_ZSTD):
        raise UnsupportedVersionError(path, 16, f"unknown codec id {codec}")
    if rows == 0 or cols == 0:
        raise CorruptBlockError(path, 12, f"frame size {rows}x{cols} is empty")
    return minor, rows, cols, codec


def pack_footer(index_offset: int, index_len: int) -> bytes:
    """The 24-byte footer that points at the index block."""
    body = struct.pack("<QI", index_offset, index_len)
    return body + struct.pack("<I", zlib.crc32(body)) + FOOTER_MAGIC


def unpack_footer(path: str, data: bytes, file_size: int) -> tuple[int, int]:
    """Validate the footer (the file's last 24 bytes); returns (index offset, index length)."""
    at = file_size - FOOTER.size
    if file_size < FILE_HEADER.size + FOOTER.size:
        raise TruncatedError(path, file_size, "file too short to hold a footer (truncated or never finalized)")
    index_offset, index_len, crc, magic = FOOTER.unpack(data)
    if magic != FOOTER_MAGIC:
        raise TruncatedError(path, at + 16, "no footer magic at the end: file truncated or never finalized")
    if zlib.crc32(data[:12]) != crc:
        raise ChecksumError(path, at + 12, "footer checksum mismatch")
    if index_offset < FILE_HEADER.size or index_offset + index_len != at or index_len < BLOCK_HEADER.size:
        raise TruncatedError(
            path, at, f"footer points at an index [{index_offset}, +{index_len}) that does not end at the footer"
        )
    return index_offset, index_len


def xz_dict_size(raw_len: int) -> int:
    """The writer's LZMA2 dictionary for a block of ``raw_len`` bytes.

    A dictionary larger than the block holds nothing more, but the encoder still sets up
    match-finder tables for its full size: the block's size rounded up to a power of two
    (4 KiB .. 8 MiB) gave byte-identical blocks on this repository's history with ~18%
    less compression CPU and ~15 MiB less memory per compression (bench/README.md).
    Decoders use ``XZ_DICT_SIZE``, which is never smaller.
    """
    return min(XZ_DICT_SIZE, max(4096, 1 << max(0, raw_len - 1).bit_length()))


def compress(codec: int, raw: bytes, level: int | None = None) -> bytes:
    """Compress one block payload with the given codec id."""
    if codec == CODEC_XZ:
        preset = XZ_PRESET if level is None else level
        filters = [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": xz_dict_size(len(raw))}]
        return lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filters)
    if codec == CODEC_ZSTD:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL if level is None else level).compress(raw)
    if codec == CODEC_NONE:
        return bytes(raw)
    raise ValueError(f"unknown codec id {codec}")


def pack_block(kind: int, codec: int, raw: bytes, level: int | None = None) -> bytes:
    """Compress ``raw`` and prepend its block header; returns the bytes to write."""
    stored = compress(codec, raw, level)
    head = struct.pack("<BBHII", kind, codec, 0, len(stored), len(raw))
    crc = zlib.crc32(stored, zlib.crc32(head))
    return head + struct.pack("<I", crc) + stored


def unpack_block_header(path: str, offset: int, head: bytes, file_size: int, max_raw: int) -> tuple[int, int, int, int, int]:
    """Parse a block header; returns (kind, codec, stored_len, raw_len, crc). Checks bounds, not the crc."""
    if len(head) < BLOCK_HEADER.size:
        raise TruncatedError(path, offset + len(head), "file ends inside a block header")
    kind, codec, _, stored_len, raw_len, crc = BLOCK_HEADER.unpack(head)
    if offset + BLOCK_HEADER.size + stored_len > file_size:
        raise TruncatedError(
            path, offset, f"block claims {stored_len} bytes but the file ends at byte {file_size}"
        )
    if raw_len > max_raw:
        raise BlockTooLargeError(
            path, offset + 8, f"block claims to inflate to {raw_len} bytes, above the limit of {max_raw}"
        )
    return kind, codec, stored_len, raw_len, crc


def check_and_inflate(path: str, offset: int, head: bytes, stored: bytes, codec: int, raw_len: int, crc: int) -> bytes:
    """Verify a block's checksum and decompress it to exactly ``raw_len`` bytes."""
    if zlib.crc32(stored, zlib.crc32(head[:12])) != crc:
        raise ChecksumError(path, offset, f"{KINDS.get(head[0], 'block')} checksum mismatch")
    try:
        if codec == CODEC_XZ:
            filters = [{"id": lzma.FILTER_LZMA2, "dict_size": XZ_DICT_SIZE}]
            dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)
            raw = dec.decompress(stored, max_length=raw_len + 1)  # +1: detect overlong output
        elif codec == CODEC_ZSTD:
            size = zstandard.frame_content_size(stored)
            if size != raw_len:
                raise CorruptBlockError(path, offset, f"zstd frame holds {size} bytes, block header says {raw_len}")
            raw = zstandard.ZstdDecompressor().decompress(stored, max_output_size=raw_len)
        elif codec == CODEC_NONE:
            raw = stored
        else:
            raise UnsupportedVersionError(path, offset + 1, f"unknown block codec id {codec}")
    except (lzma.LZMAError, zstandard.ZstdError) as exc:
        raise CorruptBlockError(path, offset, f"block does not decompress: {exc}") from None
    if len(raw) != raw_len:
        raise CorruptBlockError(path, offset, f"block inflates to {len(raw)} bytes, header says {raw_len}")
    return raw
