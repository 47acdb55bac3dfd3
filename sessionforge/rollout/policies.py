"""Who presses the keys in a rollout: the model, the recorded programmer, or the 4-gram.

A policy gives, for the frame on screen, the key of the next frame (``b""``: an idle frame,
no key) and the *target* that choice stands for: the token that starts with that key, or
``<cont>`` (id 0) when none does, exactly as :meth:`ActionTokenizer.frame_targets` labels a
recorded frame. Then it sees the frame the key made (:meth:`Policy.observe`).

**Tokens to keys.** A token policy samples a token, cuts its bytes into keys
(:func:`~sessionforge.rollout.keys.split_keys`) and presses them one per frame, as replay
does. While a token's later keys are pressed the policy is not asked again: in training
those frames' targets are always ``<cont>`` (no new token starts there), so the model's
prediction there has nothing to choose. The model still reads those frames, so its state
follows the screen. A sampled ``<cont>`` with no keys pending is an **idle frame**: the
screen stays as it is for one frame, as after a pause in a recording (``idle_rate``).
"""

from __future__ import annotations

from collections import deque
from typing import Protocol, Sequence

import numpy as np
import torch

from sessionforge.model.fbam import FBAM
from sessionforge.model.tokenizer import CONT, ActionTokenizer
from sessionforge.replay.terminal import Terminal
from sessionforge.rollout.incremental import FrameEncoder
from sessionforge.rollout.keys import sample, split_keys


class Policy(Protocol):
    """What the rollout loop asks (see the module doc)."""

    name: str

    def next_key(self) -> tuple[bytes, int]:
        """(the next frame's key, ``b""`` for none; the target token of the frame on screen)."""

    def observe(self, terminal: Terminal, spans: Sequence[tuple[int, int, int]]) -> None:
        """The frame the key made (planes and cursor in ``terminal``; ``spans`` the changed cells)."""


class TokenPolicy:
    """Samples a token when no key is pending and presses its keys one frame at a time."""

    name = "tokens"

    def __init__(self, tokenizer: ActionTokenizer, temperature: float, top_k: int, rng: np.random.Generator) -> None:
        self.tokenizer = tokenizer
        self.temperature, self.top_k, self.rng = temperature, top_k, rng
        self.pending: deque[bytes] = deque()

    def logits(self) -> np.ndarray:
        """Scores (V,) of the next token, as logits."""
        raise NotImplementedError

    def next_key(self) -> tuple[bytes, int]:
        if self.pending:
            return self.pending.popleft(), CONT
        tok = sample(self.logits(), self.temperature, self.top_k, self.rng)
        keys = split_keys(self.tokenizer.pieces[tok])
        self.pending.extend(keys[1:])
        return (keys[0] if keys else b""), tok

    def observe(self, terminal: Terminal, spans: Sequence[tuple[int, int, int]]) -> None:
        pass


class ModelPolicy(TokenPolicy):
    """The model: logits from its integrator's last output; every frame goes through its frame
    head (incrementally, :class:`FrameEncoder`) and one integrator step."""

    name = "model"

    def __init__(self, model: FBAM, encoder: FrameEncoder, tokenizer: ActionTokenizer, y: torch.Tensor,
                 state: object, temperature: float, top_k: int, rng: np.random.Generator) -> None:
        super().__init__(tokenizer, temperature, top_k, rng)
        self.model, self.encoder, self.state = model, encoder, state
        with torch.no_grad():
            self._logits = model.logits(y.reshape(1, -1)).float().reshape(-1).numpy()  # (V,)

    def logits(self) -> np.ndarray:
        return self._logits

    @torch.no_grad()
    def observe(self, terminal: Terminal, spans: Sequence[tuple[int, int, int]]) -> None:
        planes = (terminal.chars, terminal.fg, terminal.bg, terminal.attrs)
        e = self.encoder.encode(planes, terminal.cursor, spans)  # (D,)
        y, self.state = self.model.integrate(e.view(1, 1, -1), self.state)  # (1, 1, H)
        self._logits = self.model.logits(y[0, 0]).float().numpy()  # (V,)


class NGramPolicy(TokenPolicy):
    """The 4-gram baseline, blind: it samples from the distribution after the previous targets
    (the recording's before the hand-over, then its own, ``<cont>`` included) and never sees
    the screen."""

    name = "ngram"

    def __init__(self, ngram, history: Sequence[int], tokenizer: ActionTokenizer, temperature: float, top_k: int,
                 rng: np.random.Generator) -> None:
        super().__init__(tokenizer, temperature, top_k, rng)
        self.ngram = ngram
        self.history = list(history)

    def logits(self) -> np.ndarray:
        m = self.ngram.n - 1
        ctx = ([self.ngram.bos] * m + self.history)[len(self.history):] if m else []  # (n-1,) BOS-padded
        with np.errstate(divide="ignore"):
            return np.log(self.ngram.distribution(np.asarray(ctx, np.uint64)))  # (V,)

    def next_key(self) -> tuple[bytes, int]:
        key, target = super().next_key()
        self.history.append(target)
        return key, target


class RecordedPolicy:
    """The recorded programmer: the recorded keys, frame by frame (the self-check)."""

    name = "recorded"

    def __init__(self, actions: Sequence[bytes], targets: Sequence[int]) -> None:
        self.actions, self.targets = list(actions), list(targets)
        self.t = 0

    def next_key(self) -> tuple[bytes, int]:
        if self.t >= len(self.actions):
            raise IndexError("the recording has no more keys")
        key, target = self.actions[self.t], self.targets[self.t]
        self.t += 1
        return key, target

    def observe(self, terminal: Terminal, spans: Sequence[tuple[int, int, int]]) -> None:
        pass


__all__ = ["ModelPolicy", "NGramPolicy", "Policy", "RecordedPolicy", "TokenPolicy"]
