"""Corrupt, truncated and wrongly written shards fail loudly with the documented error types."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from tsgen import random_session, write_sessions

from sessionforge.errors import SessionforgeError
from sessionforge.formats import (
    BadIndexError, BadMagicError, BlockTooLargeError, ChecksumError, FormatError, ShardWriteError,
    ShardWriter, TruncatedError, UnsupportedVersionError, open_shard,
)
from sessionforge.formats import layout


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    """A small valid shard and the byte ranges of its regions."""
    path = tmp_path_factory.mktemp("shard") / "ok.tss"
    rng = np.random.default_rng(7)
    sessions = [({"i": i}, [0, 0xFFFFFF, 0x123456], random_session(rng, 4, 6, 12, 3)) for i in range(2)]
    with ShardWriter(path, 4, 6, block_frames=5) as w:
        write_sessions(w, sessions)
    data = path.read_bytes()
    index_offset, index_len, _, _ = layout.FOOTER.unpack(data[-24:])
    first_block = layout.FILE_HEADER.size  # session 0's header block
    head_len = layout.BLOCK_HEADER.size + struct.unpack_from("<I", data, first_block + 4)[0]
    frame_block = first_block + head_len
    regions = {
        "file header": (0, 24),
        "session header": (first_block, first_block + head_len),
        "frame block": (frame_block, frame_block + 16 + struct.unpack_from("<I", data, frame_block + 4)[0]),
        "index": (index_offset, index_offset + index_len),
        "footer": (len(data) - 24, len(data)),
    }
    return path, data, regions


def read_everything(path) -> None:
    with open_shard(path) as r:
        for i in range(len(r.sessions)):
            r.session_header(i)
            r.read_session(i)


def test_valid_shard_reads(shard):
    read_everything(shard[0])


@pytest.mark.parametrize("region", ["file header", "session header", "frame block", "index", "footer"])
def test_flipped_byte_in_each_region_is_detected(tmp_path, shard, region):
    _, data, regions = shard
    lo, hi = regions[region]
    for pos in sorted({lo, lo + 1, lo + 5, lo + 9, (lo + hi) // 2, hi - 1}):
        bad = bytearray(data)
        bad[pos] ^= 0x40
        path = tmp_path / "bad.tss"
        path.write_bytes(bytes(bad))
        with pytest.raises(FormatError) as exc:
            read_everything(path)
        err = exc.value
        assert isinstance(err, SessionforgeError)
        assert err.path == str(path) and str(path) in str(err)
        assert err.offset is not None and f"at byte {err.offset}" in str(err)
        if region == "file header":
            assert isinstance(err, (BadMagicError, ChecksumError, UnsupportedVersionError)), (pos, err)
        elif region == "footer":
            assert isinstance(err, (ChecksumError, TruncatedError)), (pos, err)
        else:  # every block byte is covered by the block checksum (or bounds-checked header fields)
            assert isinstance(err, (ChecksumError, TruncatedError, BlockTooLargeError)), (pos, err)
            assert lo <= err.offset < hi or isinstance(err, TruncatedError), (pos, err)


@pytest.mark.parametrize("region", ["file header", "session header", "frame block", "index", "footer"])
def test_truncation_in_each_region_is_detected(tmp_path, shard, region):
    _, data, regions = shard
    lo, hi = regions[region]
    for cut in sorted({lo, lo + 1, (lo + hi) // 2, hi - 1}):
        path = tmp_path / "cut.tss"
        path.write_bytes(data[:cut])
        with pytest.raises((TruncatedError, BadMagicError)) as exc:
            read_everything(path)
        if cut > 0:  # an empty file has no magic at all
            assert isinstance(exc.value, TruncatedError), (cut, exc.value)
        assert str(path) in str(exc.value)


def test_not_a_shard(tmp_path):
    path = tmp_path / "x.tss"
    path.write_bytes(b"hello world, this is not a termstream shard at all" * 3)
    with pytest.raises(BadMagicError, match="not a termstream shard"):
        open_shard(path)


def test_unknown_major_version(tmp_path, shard):
    _, data, _ = shard
    head = bytearray(data[:20])
    struct.pack_into("<H", head, 8, 2)  # major version 2, with a valid checksum
    path = tmp_path / "v2.tss"
    path.write_bytes(bytes(head) + struct.pack("<I", zlib.crc32(head)) + data[24:])
    with pytest.raises(UnsupportedVersionError, match="version 2"):
        open_shard(path)


def test_newer_minor_version_is_readable(tmp_path, shard):
    _, data, _ = shard
    head = bytearray(data[:20])
    struct.pack_into("<H", head, 10, 7)
    path = tmp_path / "v1_7.tss"
    path.write_bytes(bytes(head) + struct.pack("<I", zlib.crc32(head)) + data[24:])
    assert open_shard(path).version == "1.7"


def test_block_claiming_huge_size_is_refused(shard):
    path, data, regions = shard
    lo, hi = regions["frame block"]
    raw_len = struct.unpack_from("<I", data, lo + 8)[0]
    r = open_shard(path, max_block_bytes=raw_len - 1)
    with pytest.raises(BlockTooLargeError, match="above the limit") as exc:
        r.read_session(0)
    assert exc.value.offset == lo + 8


def test_bad_index_content(tmp_path, shard):
    """An index with a valid checksum but nonsense content is rejected as a bad index."""
    import msgpack

    _, data, regions = shard
    lo, hi = regions["index"]
    index = msgpack.unpackb(layout.check_and_inflate("", lo, data[lo : lo + 16], data[lo + 16 : hi], data[lo + 1],
                                                     struct.unpack_from("<I", data, lo + 8)[0],
                                                     struct.unpack_from("<I", data, lo + 12)[0]))
    index["sessions"][1]["block_offset"] = np.array([10**9, 10**9 + 1], "<u8").tobytes()
    block = layout.pack_block(layout.KIND_INDEX, data[lo + 1], msgpack.packb(index, use_bin_type=True))
    path = tmp_path / "idx.tss"
    path.write_bytes(data[:lo] + block + layout.pack_footer(lo, len(block)))
    with pytest.raises(BadIndexError, match="session 1"):
        open_shard(path)


# ---------------------------------------------------------------------------- writer failures
def leftovers(d) -> list[str]:
    return sorted(os.listdir(d))


def test_exception_inside_with_leaves_nothing(tmp_path):
    z = np.zeros((2, 2), np.uint8)
    with pytest.raises(RuntimeError, match="boom"):
        with ShardWriter(tmp_path / "x.tss", 2, 2, block_frames=1) as w:
            w.begin_session({}, [0])
            for _ in range(5):
                w.add_frame(np.zeros((2, 2), np.uint32), z, z, z, (0, 0, True), b"a")
            assert w.bytes_written > 24
            assert leftovers(tmp_path) and not (tmp_path / "x.tss").exists()  # only the temporary file
            raise RuntimeError("boom")
    assert leftovers(tmp_path) == []


def test_failed_write_keeps_an_older_shard_untouched(tmp_path):
    path = tmp_path / "x.tss"
    path.write_bytes(b"previous shard")
    with pytest.raises(ShardWriteError):
        with ShardWriter(path, 2, 2) as w:
            w.begin_session({}, [0])
            w.add_frame(np.zeros((3, 2), np.uint32), *(np.zeros((2, 2), np.uint8),) * 3, (0, 0, True), b"")
    assert path.read_bytes() == b"previous shard" and leftovers(tmp_path) == ["x.tss"]


def test_close_with_open_session_fails_and_cleans_up(tmp_path):
    with pytest.raises(ShardWriteError, match="end_session"):
        with ShardWriter(tmp_path / "x.tss", 2, 2) as w:
            w.begin_session({}, [0])
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("case", ["shape", "dtype", "palette", "codepoint", "span", "meta", "order", "cursor",
                                  "action"])
def test_writer_rejects_bad_input_clearly(tmp_path, case):
    R, C = 3, 4
    ch, z = np.zeros((R, C), np.uint32), np.zeros((R, C), np.uint8)
    messages = {"shape": "shape", "dtype": "must be uint32", "palette": "outside the palette of 2",
                "codepoint": "above 0x10FFFF", "span": "outside the 3x4 frame", "meta": "msgpack",
                "order": "begin_session", "cursor": "cursor", "action": "action must be bytes"}
    with pytest.raises(ShardWriteError, match=messages[case]):
        with ShardWriter(tmp_path / "x.tss", R, C, block_frames=2) as w:
            if case == "order":
                w.add_frame(ch, z, z, z, (0, 0, True), b"")
            w.begin_session({"bad": object()} if case == "meta" else {}, [0, 0xFF00FF])
            w.add_frame(ch, z, z, z, (0, 0, True), b"")
            fg = z.copy()
            if case == "palette":
                fg[1, 2] = 2
            bad = {"shape": np.zeros((R, C + 1), np.uint32), "dtype": np.full((R, C), -1.5),
                   "codepoint": np.full((R, C), 0x110000, np.uint32)}.get(case, ch)
            span = [(R, 0, 1)] if case == "span" else [(1, 0, C)]
            cursor = (-1, 0, True) if case == "cursor" else (0, 0, True)
            w.add_frame(bad, fg, z, z, cursor, "typed" if case == "action" else b"", span)
            w.add_frame(ch, z, z, z, (0, 0, True), b"")
            w.end_session()
    assert leftovers(tmp_path) == []


def test_unknown_codec(tmp_path):
    with pytest.raises(ShardWriteError, match="unknown codec"):
        ShardWriter(tmp_path / "x.tss", codec="gzip")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("bad", ["span", "cursor", "span on a key frame", "palette", "codepoint", "float cursor",
                                 "float in the second span"])
def test_a_rejected_frame_leaves_the_writer_usable(tmp_path, bad):
    # A caller may catch the error and go on: the rejected frame must leave no trace, and
    # every frame before and after it must read back exactly (no shard that only looks finished).
    R, C = 3, 4
    ch, z = np.full((R, C), 65, np.uint32), np.zeros((R, C), np.uint8)
    want = []
    with ShardWriter(tmp_path / "x.tss", R, C, block_frames=3) as w:
        w.begin_session({}, [0, 0xFFFFFF])
        for t in range(7):
            ch = ch.copy()
            ch[t % R, t % C] = 66 + t
            if t == (3 if bad == "span on a key frame" else 2 if "span" in bad else 4):
                bad_ch, fg = ch, z
                if bad == "codepoint":
                    bad_ch = ch.copy()
                    bad_ch[0, 0] = 0x110000
                if bad == "palette":
                    fg = z + 2
                cursor = {"cursor": (9, 70000, True), "float cursor": (1.0, 0, True)}.get(bad, (0, 0, True))
                hint = {"span": [(R, 0, 1)], "span on a key frame": [(R, 0, 1)],
                        "float in the second span": [(0, 0, 1), (1, 0, 3.0)]}.get(bad)
                with pytest.raises(ShardWriteError, match="outside|out of range|expected integers|palette|0x10FFFF"):
                    w.add_frame(bad_ch, fg, z, z, cursor, b"rejected", hint)
            w.add_frame(ch, z, z, z, (t % R, t % C, True), bytes([t]), [(t % R, t % C, t % C + 1)])
            want.append((ch, (t % R, t % C, 1), bytes([t])))
        w.end_session()
    f = open_shard(tmp_path / "x.tss").read_session(0)
    assert len(f) == len(want)
    for t, (c, cur, act) in enumerate(want):
        np.testing.assert_array_equal(f.chars[t], c)
        assert tuple(f.cursor[t].tolist()) == cur and f.action(t) == act
