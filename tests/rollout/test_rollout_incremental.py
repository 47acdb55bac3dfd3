"""The incremental frame encoder gives the model's own frame vectors, frame after frame."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

from sessionforge.formats import palette_rgb
from sessionforge.model.fbam import FBAM
from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import PALETTE, Terminal
from sessionforge.rollout.incremental import FrameEncoder
from train.trainkit import tiny_model_config

KEYS = [b"x", b"y", b" ", b"\r", b"\x7f", b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F",
        b"\x1b[6~", b"\x1b[5~", b"\x0b", b"\t", b"(", b"\x07"]


def _model(**frame_head) -> FBAM:
    cfg = tiny_model_config(16, 64, layers=1)
    cfg.frame_head = dataclasses.replace(cfg.frame_head, **frame_head)
    torch.manual_seed(0)
    model = FBAM(cfg, 400).eval()
    with torch.no_grad():  # residual branches start at zero: make every part of the head matter
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def _session(steps: int, seed: int):
    """An editor typing into a file longer than the screen: yields (planes, cursor, spans) per frame."""
    text = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(30))
    ed = Editor(16, 64, {"a.py": text})
    term = Terminal(16, 64)
    term.feed(ed.redraw())
    term.snapshot()
    rng = random.Random(seed)
    keys = [b"\x0f", b"a", b".", b"p", b"y", b"\r"] + [rng.choice(KEYS) for _ in range(steps)]
    yield (term.chars, term.fg, term.bg, term.attrs), term.cursor, None
    for k in keys:
        term.feed(ed.press(k))
        spans = term.snapshot()
        yield (term.chars, term.fg, term.bg, term.attrs), term.cursor, spans


def _palette() -> np.ndarray:
    out = np.zeros((256, 3), np.uint8)
    rgb = palette_rgb(PALETTE)
    out[:len(rgb)] = rgb
    return out


@pytest.mark.parametrize("frame_head", [{}, {"patch": 2}, {"pool": "cls"}])
def test_incremental_vectors_equal_the_models(frame_head):
    model = _model(**frame_head)
    enc = FrameEncoder(model, _palette())
    worst, frames = 0.0, _session(150, seed=len(frame_head))
    planes, cursor, _ = next(frames)
    with torch.no_grad():
        enc.start(planes, cursor)
        assert enc.reason is None
        for planes, cursor, spans in frames:
            v = enc.encode(planes, cursor, spans)
            ref = enc._model_vector(planes, cursor)
            worst = max(worst, float((v - ref).abs().max() / ref.abs().max()))
    assert worst < 1e-5
    assert enc.partial_frames > 100 and enc.full_frames >= 1  # most frames were partial; page jumps were whole


def test_an_encoder_that_cannot_mirror_the_model_says_why_and_runs_the_model():
    model = _model()
    head = model.frame_head.forward
    model.frame_head.forward = lambda cells: head(cells) + 1.0  # a frame head the mirror does not know
    enc = FrameEncoder(model, _palette())
    frames = _session(5, seed=3)
    planes, cursor, _ = next(frames)
    with torch.no_grad():
        enc.start(planes, cursor)
        assert enc.reason is not None and "differs from the model's" in enc.reason
        for planes, cursor, spans in frames:
            assert torch.equal(enc.encode(planes, cursor, spans), enc._model_vector(planes, cursor))
    assert enc.partial_frames == 0
    off = FrameEncoder(_model(), _palette(), incremental=False)
    assert off.reason == "turned off"
