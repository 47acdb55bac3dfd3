"""From action tokens to key presses, and sampling a token from a distribution.

**Keys.** Replay presses one key per frame (``replay/PIPELINE.md``, "Keys"), and the action
tokenizer concatenates the keys of consecutive frames, so one token may span several frames
(an arrow run, ``self.``, Enter plus indentation). A rollout undoes that: :func:`split_keys`
cuts a token's bytes into the keys the replay would have pressed, one per frame, reading
them as KEYMAP.md's "Any bytes" reads a terminal's input:

* ``ESC [`` parameter bytes (0x30-0x3F), intermediates (0x20-0x2F), then one final byte
  (0x40-0x7E): one key (arrows, Home, Delete, PgDn, ...); cut short, what there is;
* ``ESC O`` + a final byte: one key (SS3); ``ESC`` + a character: one Alt key (Alt-V, Alt-R,
  Alt-D; Alt-V's quoted character is the next key, as the planner sends it); a lone ESC;
* one UTF-8 encoded character; a byte that starts none (a continuation byte, a lead byte
  cut short) is a key by itself: the editor drops it (KEYMAP.md, "Any bytes").

**Sampling.** :func:`sample` draws from logits with a temperature and a top-k cut using a
``numpy.random.Generator``: the same seed gives the same draws on every machine, whatever
torch does with its own generator.
"""

from __future__ import annotations

import numpy as np

ESC = 0x1B


def _utf8_length(lead: int) -> int:
    """Bytes of the UTF-8 character that starts with ``lead`` (0: no valid lead byte)."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _char_end(data: bytes, i: int) -> int:
    """End of the key that starts with a character at ``i``: the whole character when its
    continuation bytes follow (and it decodes), else the one byte at ``i``."""
    n = _utf8_length(data[i])
    if n > 1 and i + n <= len(data):
        try:
            data[i:i + n].decode("utf-8")
            return i + n
        except UnicodeDecodeError:
            pass
    return i + 1


def split_keys(data: bytes) -> list[bytes]:
    """The keys in ``data``, one per frame, as the replay presses them (see the module doc)."""
    keys: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] != ESC or i + 1 == n:
            j = _char_end(data, i) if data[i] != ESC else i + 1
        elif data[i + 1] == 0x5B:  # CSI
            j = i + 2
            while j < n and 0x20 <= data[j] <= 0x3F:
                j += 1
            if j < n and 0x40 <= data[j] <= 0x7E:
                j += 1
        elif data[i + 1] == 0x4F and i + 2 < n and 0x40 <= data[i + 2] <= 0x7E:  # SS3
            j = i + 3
        elif data[i + 1] == ESC:
            j = i + 1  # a lone ESC; the second one starts the next key
        else:
            j = _char_end(data, i + 1)  # Alt + one character
        keys.append(data[i:j])
        i = j
    return keys


def sample(logits: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator) -> int:
    """One token id drawn from ``logits`` (V,) at ``temperature`` among the ``top_k`` largest
    (0: all). Temperature 0 is greedy: the largest logit, ties to the lower id."""
    z = np.asarray(logits, np.float64)  # (V,)
    if temperature <= 0:
        return int(np.argmax(z))
    z = z / temperature
    if 0 < top_k < z.shape[0]:
        kth = np.partition(z, z.shape[0] - top_k)[z.shape[0] - top_k]
        z = np.where(z >= kth, z, -np.inf)  # ties with the k-th are kept: the cut is exact, not arbitrary
    z = z - z.max()
    p = np.exp(z)  # (V,)
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), z.shape[0] - 1))


__all__ = ["sample", "split_keys"]
