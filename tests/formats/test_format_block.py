"""Frame-block semantics decoded from hand-made columns (SPEC.md section 3.2)."""

from __future__ import annotations

import numpy as np
import pytest

from sessionforge.formats import CorruptBlockError
from sessionforge.formats.block import decode_block, encode_block

R, C = 3, 4


def make(frames: int, spans: list[list[tuple[int, int, list[int]]]], moves: list[list[tuple[int, int]]]) -> bytes:
    """A block whose key frame has chars 10*row + col; spans/moves given per frame (frame 0: none)."""
    key = (np.array([[10 * r + c for c in range(C)] for r in range(R)], np.uint32),) + (np.zeros((R, C), np.uint8),) * 3
    h = np.uint16
    flat = [s for f in spans for s in f]
    chars = np.array([v for _, _, vals in flat for v in vals], np.uint32)
    zeros = np.zeros(len(chars), np.uint8)
    return encode_block(
        key, np.zeros(frames, h), np.zeros(frames, h), np.ones(frames, np.uint8), np.zeros(frames, np.uint32), b"",
        np.array([len(f) for f in spans], h), np.array([r for r, _, _ in flat], h), np.array([c for _, c, _ in flat], h),
        np.array([len(v) for _, _, v in flat], h), (chars, zeros, zeros, zeros),
        np.array([len(m) for m in moves], h), np.array([d for m in moves for d, _ in m], h),
        np.array([s for m in moves for _, s in m], h))


def frames_of(raw: bytes, n: int, decoder: str) -> np.ndarray:
    blk = decode_block(raw, R, C, compiled=decoder == "compiled")
    out = tuple(np.zeros((n, R, C), dt) for dt in (np.uint32, np.uint8, np.uint8, np.uint8))
    blk.fill(out, 0, 0, n)
    return out[0]


def test_later_overlapping_span_wins(decoder):
    raw = make(2, [[], [(1, 0, [1, 2, 3]), (1, 1, [7, 8])]], [[], []])
    assert frames_of(raw, 2, decoder)[1, 1].tolist() == [1, 7, 8, 13]


def test_moves_are_simultaneous_and_precede_spans(decoder):
    # frame 1 swaps rows 0 and 1 and then writes into the moved row 0; frame 2 scrolls up by one
    raw = make(3, [[], [(0, 3, [99])], []], [[], [(0, 1), (1, 0)], [(0, 1), (1, 2)]])
    f = frames_of(raw, 3, decoder)
    assert f[1].tolist() == [[10, 11, 12, 99], [0, 1, 2, 3], [20, 21, 22, 23]]
    assert f[2].tolist() == [[0, 1, 2, 3], [20, 21, 22, 23], [20, 21, 22, 23]]


@pytest.mark.parametrize("bad", ["two moves onto one row", "span outside", "move outside"])
def test_inconsistent_block_is_rejected(bad):
    spans = [[], [(2, 3, [1, 2])] if bad == "span outside" else []]
    moves = [[], {"two moves onto one row": [(0, 1), (0, 2)], "move outside": [(0, 3)]}.get(bad, [])]
    with pytest.raises(CorruptBlockError):
        decode_block(make(2, spans, moves), R, C, "x.tss", 100)


def test_xz_dictionary_fits_the_block_and_the_8_mib_decoder_reads_it():
    import zlib

    from sessionforge.formats import layout

    assert [layout.xz_dict_size(n) for n in (0, 1, 4096, 4097, 300_000, 1 << 30)] == [
        4096, 4096, 4096, 8192, 1 << 19, layout.XZ_DICT_SIZE]
    # 300 kB of compressible bytes with a match 200 kB back: inside the 512 KiB writer
    # dictionary, and the decoder's 8 MiB one reads it back exactly.
    rng = np.random.default_rng(3)
    part = rng.integers(0, 16, 100_000, dtype=np.uint8).tobytes()
    raw = part + bytes(100_000) + part
    packed = layout.pack_block(layout.KIND_FRAMES, layout.CODEC_XZ, raw)
    head, stored = packed[:16], packed[16:]
    crc = zlib.crc32(stored, zlib.crc32(head[:12]))
    assert layout.check_and_inflate("x", 0, head, stored, layout.CODEC_XZ, len(raw), crc) == raw
    alone = len(layout.compress(layout.CODEC_XZ, part))
    assert len(stored) < 1.1 * alone  # the second copy, 200 kB back, cost almost nothing
