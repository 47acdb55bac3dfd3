"""One hand-over point, end to end: rebuild, warm the model up, roll out, compare.

For a point (session S, frame F) and N keys:

1. **Model.** Replay S's slice up to F and take the live editor and terminal
   (:func:`~sessionforge.rollout.rebuild.rebuild`, checked against the recording). The model
   reads the last L recorded frames up to F (L = the run's window; fewer at a session's
   start) from a zero state, as training starts a window, then rolls out N frames.
2. **Ground truth.** Replay the slice again past F: at F, copy the editor for the two
   baselines (:func:`~sessionforge.rollout.rebuild.fork`); at F + M (M = N, or the frames
   the session has left after F) take the recorded editor's files.
3. **Baselines.** The recorded keys from F (the self-check: every frame must equal the
   recording and the file distance must be 0) and the 4-gram sampling blind.
4. **Metrics** (:mod:`sessionforge.rollout.metrics`) per policy.

Every editor of a rollout has a :class:`~sessionforge.rollout.disk.RepoDisk` over the tree
replay was opening files from at F (the first parent of the commit in progress).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sessionforge.formats import ShardReader, palette_rgb
from sessionforge.model.embedding import FrameInputs
from sessionforge.model.fbam import FBAM
from sessionforge.model.tokenizer import ActionTokenizer
from sessionforge.replay.editor import Editor
from sessionforge.replay.terminal import Terminal
from sessionforge.rollout.disk import FileState, RepoDisk, TreeFiles, first_parent, tree_files
from sessionforge.rollout.incremental import FrameEncoder
from sessionforge.rollout.loop import FrameOut, Rollout, roll
from sessionforge.rollout.metrics import compare_files, compare_with_tree, keys_to_divergence, token_agreement
from sessionforge.rollout.policies import ModelPolicy, NGramPolicy, RecordedPolicy
from sessionforge.rollout.points import Point, RolloutError
from sessionforge.rollout.rebuild import SliceSource, check_screen, follow, fork, handover_commit, rebuild

@dataclass(frozen=True)
class Settings:
    """How to roll out and compare."""

    keys: int  # N: frames rolled out after the hand-over
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0
    compare: int = 32  # K: token agreement over the first K keys
    incremental: bool = True  # the incremental frame head (FrameEncoder); False: the model's own on every frame


@dataclass
class ModelRun:
    """The trained model and what it was trained with (loaded by the command)."""

    model: FBAM
    tokenizer: ActionTokenizer
    window: int  # L
    chunk: int  # frames embedded at once while reading the context
    ngram: Any = None  # the fitted 4-gram (NGramBaseline), or None: no baselines


class RecordedCheck:
    """A frame sink comparing each frame with the recording from frame ``start`` on."""

    def __init__(self, reader: ShardReader, index: int, start: int) -> None:
        self.reader, self.index, self.t = reader, index, start
        self.first_difference: int | None = None  # frame index in the session
        self._buf: Any = None
        self._lo = 0

    def add_frame(self, chars: Any, fg: Any, bg: Any, attrs: Any, cursor: Any, action: bytes, changed: Any) -> None:
        t = self.t
        self.t += 1
        if self.first_difference is not None:
            return
        if self._buf is None or t >= self._lo + len(self._buf.cursor):
            total = self.reader.sessions[self.index].frames
            self._lo, self._buf = t, self.reader.read_frames(self.index, t, min(t + 1024, total))
        k, b = t - self._lo, self._buf
        same = (np.array_equal(chars, b.chars[k]) and np.array_equal(fg, b.fg[k]) and np.array_equal(bg, b.bg[k])
                and np.array_equal(attrs, b.attrs[k]) and bytes(action) == b.action(k)
                and [int(cursor[0]), int(cursor[1]), int(bool(cursor[2]))] == [int(x) for x in b.cursor[k]])
        if not same:
            self.first_difference = t


def trees(source: SliceSource, meta: dict[str, Any], frame: int) -> tuple[str, TreeFiles, TreeFiles]:
    """(the commit in progress at ``frame``, the tree replay opens its files from: its first
    parent's, the tree it ends with)."""
    commit = handover_commit(meta, frame)
    limit = source.cfg.max_file_bytes
    return commit, tree_files(source.repo, first_parent(source.repo, commit), limit), tree_files(source.repo, commit, limit)


def recorded_actions(reader: ShardReader, point: Point, start: int, stop: int) -> list[bytes]:
    """Action bytes of frames [start, stop) of the point's session, one per frame."""
    data, offsets = reader.read_actions(point.index, start, stop)
    return [bytes(data[offsets[t]:offsets[t + 1]]) for t in range(stop - start)]


@torch.no_grad()
def warm_up(run: ModelRun, reader: ShardReader, point: Point) -> tuple[torch.Tensor, object, int]:
    """The model over the last L recorded frames up to F from a zero state, as training starts a
    window: (its last output (H,), its state, frames read)."""
    first = max(0, point.frame - run.window + 1)
    pal = torch.from_numpy(run_palette(reader, point))[None]  # (1, 256, 3)
    state: object = None
    y = None
    for a in range(first, point.frame + 1, run.chunk):
        fr = reader.read_frames(point.index, a, min(a + run.chunk, point.frame + 1))
        lane = lambda p: torch.from_numpy(np.ascontiguousarray(p))[:, None]  # noqa: E731  (T, 1, ...)
        x = FrameInputs(lane(fr.chars.view(np.int32)), lane(fr.fg), lane(fr.bg), lane(fr.attrs), lane(fr.cursor), pal)
        y, state = run.model.integrate(run.model.embed_frames(x), state)  # (T, 1, H)
    assert y is not None
    return y[-1, 0], state, point.frame + 1 - first


def rollout_point(run: ModelRun, source: SliceSource, reader: ShardReader, point: Point, settings: Settings, *,
                  stream: int = 0, out: FrameOut | None = None) -> dict[str, Any]:
    """Roll out the model (and the baselines when ``run.ngram`` is set) at ``point``; the report
    (JSON-ready). ``stream`` tells points apart in the seeds; ``out`` receives the model's frames."""
    if (reader.rows, reader.cols) != (run.model.cfg.rows, run.model.cfg.cols):
        raise RolloutError(f"session {point.id} has {reader.rows}x{reader.cols} frames; the checkpoint's model "
                           f"reads {run.model.cfg.rows}x{run.model.cfg.cols}")
    tok, N = run.tokenizer, settings.keys
    M = min(N, point.frames - 1 - point.frame)  # recorded frames after F to compare with
    commit, base, end_tree = trees(source, reader.sessions[point.index].meta, point.frame)
    rec_actions = recorded_actions(reader, point, point.frame, point.frame + M + 1)  # frames F..F+M
    rec_targets = [int(t) for t in tok.frame_targets(rec_actions)[0]]  # (M,): tokenized from F+1 on

    # 1. the model, on the live editor and terminal of the replay
    editor, terminal = rebuild(source, point, reader)
    editor.disk = RepoDisk(dict(editor.disk), base)
    t0 = time.perf_counter()
    y, state, context = warm_up(run, reader, point)
    encoder = FrameEncoder(run.model, run_palette(reader, point), settings.incremental)
    encoder.start((terminal.chars, terminal.fg, terminal.bg, terminal.attrs), terminal.cursor)
    warm = time.perf_counter() - t0
    rng = lambda k: np.random.default_rng([settings.seed, stream, k])  # noqa: E731  one stream per policy
    policy = ModelPolicy(run.model, encoder, tok, y, state, settings.temperature, settings.top_k, rng(0))
    t0 = time.perf_counter()
    results: dict[str, Rollout] = {"model": roll(editor, terminal, policy, N, capture_at=M, out=out)}
    wall = time.perf_counter() - t0

    # 2. the recording at F + M, and copies of the editor at F for the baselines
    truth: dict[str, Any] = {}

    def at_handover(ed: Editor, term: Terminal) -> None:
        check_screen(term, reader, point, "the replayed screen")
        truth["forks"] = [fork(ed) for _ in range(2 if run.ngram is not None else 0)]
        for f_ed, _ in truth["forks"]:
            f_ed.disk = RepoDisk(dict(ed.disk), base)
        ed.disk = RepoDisk(dict(ed.disk))  # the pipeline's own disk, now remembering what it deletes and forgets

    def at_end(ed: Editor, term: Terminal) -> None:
        truth["files"] = FileState.of(ed)

    ss, F = point.slice_session, point.frame
    calls = {(ss, F): at_handover, (ss, F + M): at_end} if M else {(ss, F): lambda e, t: (at_handover(e, t), at_end(e, t))}
    follow(source, calls)
    recorded: FileState = truth["files"]

    # 3. the baselines
    check = None
    if run.ngram is not None:
        (r_ed, r_term), (n_ed, n_term) = truth["forks"]
        check = RecordedCheck(reader, point.index, F + 1)
        results["recorded"] = roll(r_ed, r_term, RecordedPolicy(rec_actions[1:], rec_targets), M, capture_at=M, out=check)
        first = max(0, F - run.window)
        history = tok.frame_targets(recorded_actions(reader, point, first, F + 1))[0].tolist() if F > first else []
        results["ngram"] = roll(n_ed, n_term, NGramPolicy(run.ngram, history, tok, settings.temperature,
                                                          settings.top_k, rng(2)), N, capture_at=M)

    # 4. metrics
    report: dict[str, Any] = {
        "session": point.id, "frame": F, "commit": commit, "keys": N, "compared_keys": M,
        "context_frames": context, "warm_up_seconds": round(warm, 3),
        "frame_head": {"incremental": encoder.reason is None, "why_not": encoder.reason,
                       "full_frames": encoder.full_frames, "partial_frames": encoder.partial_frames},
        "policies": {},
    }
    for name, res in results.items():
        same = compare_files(res.files_at, recorded, base)
        paths = set(res.files_end.known) | set(recorded.known)
        end = compare_with_tree(res.files_end, sorted(paths), base, end_tree)
        row: dict[str, Any] = {
            "token_agreement": token_agreement(res.targets, rec_targets, settings.compare),
            "agreement_keys": min(settings.compare, M, len(res.targets)),
            "keys_to_divergence": keys_to_divergence(res.actions, rec_actions[1:]),
            "same_point_distance": sum(f.distance for f in same),
            "commit_end_distance": sum(f.distance for f in end),
            "same_point_files": [f.to_dict() for f in same],
            "commit_end_files": [f.to_dict() for f in end],
            "idle_frames": sum(1 for a in res.actions if not a),
            "frames": len(res.actions),
            "cpu": res.timings.to_dict(),
        }
        if name == "model":
            row["wall_seconds"] = round(wall, 6)
            row["keys_per_cpu_second"] = round(len(res.actions) / res.timings.total, 1) if res.timings.total else None
        if name == "recorded":
            assert check is not None
            row["frames_match"] = check.first_difference is None
            row["first_different_frame"] = check.first_difference
        report["policies"][name] = row
    return report


def run_palette(reader: ShardReader, point: Point) -> np.ndarray:
    """The session's palette as (256, 3) uint8 RGB, zero-padded (what the model reads)."""
    out = np.zeros((256, 3), np.uint8)
    rgb = palette_rgb(reader.sessions[point.index].palette)[:256]
    out[:len(rgb)] = rgb
    return out


def self_check_problems(report: dict[str, Any]) -> list[str]:
    """What the recorded-keys baseline says is wrong with the rebuild (empty: nothing)."""
    rec = report["policies"].get("recorded")
    if rec is None:
        return []
    out = []
    if not rec["frames_match"]:
        out.append(f"{report['session']}@{report['frame']}: replaying the recorded keys from the rebuilt state "
                   f"differs from the recording at frame {rec['first_different_frame']}")
    if rec["same_point_distance"]:
        out.append(f"{report['session']}@{report['frame']}: replaying the recorded keys leaves files "
                   f"{rec['same_point_distance']} edits away from the recording's")
    return out


__all__ = ["ModelRun", "RecordedCheck", "Settings", "recorded_actions", "rollout_point", "self_check_problems",
           "trees", "warm_up"]
