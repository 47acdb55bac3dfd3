"""play: runs in a real pseudo-terminal, reacts to keys, and always restores the terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


from sessionforge.view.player import ENTER, LEAVE, fit, parse_keys


def _spawn(args, rows=20, cols=60):
    pid, fd = pty.fork()
    if pid == 0:  # child: a known window size, then the real CLI
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execv(sys.executable, [sys.executable, "-m", "sessionforge.cli", *map(str, args)])
    return pid, fd


def _read_until(fd, buf: bytearray, needle: bytes, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            buf += chunk
    return needle in buf


def _finish(pid, fd, buf: bytearray) -> int:
    _read_until(fd, buf, b"\x00never\x00", timeout=20)  # drain until EOF
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status)


def test_play_quits_on_q_and_restores_terminal(synth_shard):
    pid, fd = _spawn(["play", synth_shard, "--session", "1", "--speed", "0.5", "--from", "5"])
    buf = bytearray()
    assert _read_until(fd, buf, b"frame 5/44", timeout=30), bytes(buf)[-500:]
    before = termios.tcgetattr(fd)[3]
    assert not before & termios.ICANON and not before & termios.ECHO  # cbreak while playing
    os.write(fd, b" ")  # pause
    assert _read_until(fd, buf, b"paused", timeout=10)
    os.write(fd, b"g")  # first frame
    assert _read_until(fd, buf, b"paused 0.5x  frame 0/44", timeout=10)
    os.write(fd, b"\x1b[C\x1b[C\x1b[D")  # step +1, +1, -1
    assert _read_until(fd, buf, b"paused 0.5x  frame 1/44", timeout=10)
    os.write(fd, b"G")  # last frame
    assert _read_until(fd, buf, b"paused 0.5x  frame 44/44", timeout=10)
    assert b"\x1b[20;1H" in buf and b"\x1b[12;1H" not in buf  # status line on the last row
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 12, 40, 0, 0))  # the user resizes
    assert _read_until(fd, buf, b"\x1b[12;1H", timeout=10)  # redrawn with the status line moved
    os.write(fd, b"q")
    code = _finish(pid, fd, buf)
    out = bytes(buf)
    assert code == 0, out[-300:]
    assert ENTER.encode() in out and out.endswith(LEAVE.encode()), out[-100:]
    assert "src/main.c" in out.decode("utf-8", "replace")  # the status line shows the marker's file


def test_ctrl_c_restores_terminal(synth_shard):
    pid, fd = _spawn(["play", synth_shard])
    buf = bytearray()
    assert _read_until(fd, buf, b"frame ", timeout=30), bytes(buf)[-500:]
    os.write(fd, b"\x03")  # Ctrl-C: SIGINT through the terminal's line discipline
    code = _finish(pid, fd, buf)
    out = bytes(buf)
    assert code == 130
    assert out.rfind(LEAVE.encode()) > out.rfind(ENTER.encode()) >= 0
    assert out[out.rfind(LEAVE.encode()) + len(LEAVE):].strip() in (b"aborted", b"interrupted")


def test_play_without_a_terminal_is_a_clean_error(synth_shard, capsys):
    from viewkit import run_cli

    code, err = run_cli(["play", synth_shard], capsys)
    assert code == 1 and err.startswith("error: ") and "terminal" in err


def test_keys_and_status_text():
    assert parse_keys(b" \x1b[Cq\x1b[D+z") == [("pause", 0), ("step", 1), ("quit", 0), ("step", -1), ("speed", 2)]
    assert fit("a\x1bb中", 5) == "a?b中" and fit("abcdef", 3) == "abc" and fit("中中", 3) == "中 "
