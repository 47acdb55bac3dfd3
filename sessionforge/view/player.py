"""Play a session in the user's terminal.

The player switches to the alternate screen, puts the keyboard in cbreak mode and
draws frames with :class:`ScreenEncoder` (changed cells only), cropped to the
terminal size, with a status line on the last row. Whatever happens (``q``,
Ctrl-C, an error), the ``finally`` block resets colours, shows the cursor, leaves
the alternate screen and restores the saved termios settings.

Keys: space pause/resume; right/left arrow step one frame (and pause); up/down
step 100 frames; ``+``/``-`` double/halve the speed; ``g``/``G`` first/last
frame; ``q`` quit.
"""

from __future__ import annotations

import os
import select
import signal
import termios
import time
import tty
from typing import Callable

import numpy as np
from wcwidth import wcwidth

from sessionforge.dataset import OpenSession
from sessionforge.view.frame_access import FrameCache, Markers, ViewError
from sessionforge.view.vt import ScreenEncoder

ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"
LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"  # must stay the last bytes the player writes
BASE_FPS = 30.0
MAX_DRAW_HZ = 60.0
_KEYS = {
    b"\x1b[C": ("step", 1), b"\x1bOC": ("step", 1),
    b"\x1b[D": ("step", -1), b"\x1bOD": ("step", -1),
    b"\x1b[A": ("step", 100), b"\x1bOA": ("step", 100),
    b"\x1b[B": ("step", -100), b"\x1bOB": ("step", -100),
    b" ": ("pause", 0), b"q": ("quit", 0), b"Q": ("quit", 0),
    b"+": ("speed", 2), b"=": ("speed", 2), b"-": ("speed", -2),
    b"g": ("goto", 0), b"G": ("goto", -1),
}


def fit(text: str, width: int) -> str:
    """Make ``text`` safe for a terminal and cut/pad it to ``width`` display columns."""
    out, used = [], 0
    for ch in text:
        w = wcwidth(ch)
        if w not in (1, 2):
            ch, w = "?", 1  # control / zero-width: never sent raw
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def parse_keys(data: bytes) -> list[tuple[str, int]]:
    """Split a read from the keyboard into commands (unknown bytes are ignored)."""
    cmds, i = [], 0
    while i < len(data):
        for n in (3, 1):
            hit = _KEYS.get(data[i : i + n])
            if hit is not None:
                cmds.append(hit)
                i += n
                break
        else:
            i += 1
    return cmds


class Player:
    """Interactive playback of one session on terminal file descriptors."""

    def __init__(self, ref: OpenSession, speed: float = 1.0, start: int = 0,
                 in_fd: int = 0, out_fd: int = 1, fps: float = BASE_FPS):
        if ref.frames == 0:
            raise ViewError(f"{ref.label}: the session has no frames")
        if not 0 <= start < ref.frames:
            raise ViewError(f"--from {start}: out of range (session has {ref.frames} frames)")
        if speed <= 0:
            raise ViewError(f"--speed {speed}: must be > 0")
        self.ref, self.speed, self.fps = ref, float(speed), float(fps)
        self.in_fd, self.out_fd = in_fd, out_fd
        self.frames = FrameCache(ref)
        self.markers = Markers(ref.info.meta)
        self.t = start
        self.playing = True
        self._enc: ScreenEncoder | None = None
        self._size: tuple[int, int] | None = None

    def _write(self, s: str) -> None:
        data = s.encode("utf-8")
        while data:
            n = os.write(self.out_fd, data)
            data = data[n:]

    def run(self) -> None:
        """Play until ``q``; the terminal is restored on every way out."""
        if not (os.isatty(self.in_fd) and os.isatty(self.out_fd)):
            raise ViewError("play needs an interactive terminal (try `sessionforge export` instead)")
        saved = termios.tcgetattr(self.in_fd)
        old_term = signal.getsignal(signal.SIGTERM)
        try:
            # SIGTERM unwinds like Ctrl-C, so the finally block still restores the screen.
            signal.signal(signal.SIGTERM, _raise_interrupt)
            tty.setcbreak(self.in_fd)  # keys without Enter, no echo; Ctrl-C still signals
            self._write(ENTER)
            self._loop(time.monotonic)
        finally:
            try:
                self._write(LEAVE)
            finally:
                termios.tcsetattr(self.in_fd, termios.TCSADRAIN, saved)
                signal.signal(signal.SIGTERM, old_term)

    def _loop(self, clock: Callable[[], float]) -> None:
        last_t = self.ref.frames - 1
        origin_time, origin_t = clock(), self.t
        drawn: tuple[int, bool, float] | None = None
        last_draw = 0.0
        while True:
            if self.playing:
                rate = self.fps * self.speed
                self.t = min(origin_t + int((clock() - origin_time) * rate), last_t)
                if self.t == last_t:
                    self.playing = False  # stop on the last frame; keys still work
            state = (self.t, self.playing, self.speed)
            if self._check_size() or state != drawn:
                self._draw()
                drawn, last_draw = state, clock()
            timeout = 0.25  # also how often a resized terminal is noticed
            if self.playing:
                rate = self.fps * self.speed
                # At high speed, draw at most MAX_DRAW_HZ times a second (frames are skipped).
                due = max(origin_time + (self.t + 1 - origin_t) / rate, last_draw + 1 / MAX_DRAW_HZ)
                timeout = max(0.0, min(timeout, due - clock()))
            ready, _, _ = select.select([self.in_fd], [], [], timeout)
            if not ready:
                continue
            data = os.read(self.in_fd, 64)
            if not data:
                return  # the terminal went away
            for cmd, arg in parse_keys(data):
                if cmd == "quit":
                    return
                if cmd == "pause":
                    self.playing = not self.playing and self.t < last_t
                elif cmd == "step":
                    self.playing = False
                    self.t = min(max(self.t + arg, 0), last_t)
                elif cmd == "goto":
                    self.playing = False
                    self.t = 0 if arg == 0 else last_t
                elif cmd == "speed":
                    self.speed = min(max(self.speed * 2 if arg > 0 else self.speed / 2, 1 / 64), 4096.0)
                origin_time, origin_t = clock(), self.t

    def _check_size(self) -> bool:
        """Re-create the encoder when the terminal was resized; True if it was."""
        try:
            size = os.get_terminal_size(self.out_fd)
            term = (max(size.lines, 2), max(size.columns, 1))
        except OSError:
            term = (24, 80)
        if term == self._size and self._enc is not None:
            return False
        self._size = term
        rows = min(int(self.ref.reader.rows), term[0] - 1)
        cols = min(int(self.ref.reader.cols), term[1])
        self._enc = ScreenEncoder(rows, cols, self.ref.info.palette, clear=False)
        self._write("\x1b[0m\x1b[2J")
        return True

    def _draw(self) -> None:
        enc = self._enc
        assert enc is not None and self._size is not None
        chars, fg, bg, attrs, cursor, action = self.frames.get(self.t)
        vr, vc = enc.rows, enc.cols
        view_chars = chars[:vr, :vc]
        if vc < chars.shape[1]:
            # A wide character whose right half is cropped away would wrap the line.
            cut = (chars[:vr, vc] == 0) & (view_chars[:, vc - 1] != 0)
            if cut.any():
                view_chars = view_chars.copy()
                view_chars[cut, vc - 1] = 32
        row, col, visible = int(cursor[0]), int(cursor[1]), bool(cursor[2])
        if row >= vr or (col >= vc and vc < chars.shape[1]):
            visible = False  # the cursor sits in the cropped-away part
        commit, path = self.markers.at(self.t)
        state = "playing" if self.playing else "paused"
        # Most useful first: narrow terminals cut the line from the right.
        status = (f" {state} {self.speed:g}x  frame {self.t}/{self.ref.frames - 1}  key {action!r}"
                  f"  {commit[:10]} {path}  {self.ref.label}  [space] pause [<-/->] step [q] quit")
        term_rows, term_cols = self._size
        out = ["\x1b[?25l", f"\x1b[{term_rows};1H\x1b[0;7m", fit(status, term_cols - 1), "\x1b[0m"]
        enc.forget_terminal_state()  # the status line moved the cursor and changed the pen
        out.append(enc.encode(view_chars, fg[:vr, :vc], bg[:vr, :vc], attrs[:vr, :vc],
                              np.array([row, col, 1 if visible else 0])))
        self._write("".join(out))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
