"""sessionforge.rollout: a trained model types into the live editor (the closed loop).

``sessionforge rollout`` (:mod:`sessionforge.commands.rollout`) loads a run and calls
:func:`~sessionforge.rollout.runner.rollout_point` for each hand-over point. Modules::

    points       hand-over points: --session/--at, or drawn from the val split (--runs)
    rebuild      replay a session's slice again up to a frame: the live editor and terminal
    disk         the editor's disk over the repository tree; the files an editor holds
    keys         token bytes -> one key per frame; sampling with temperature and top-k
    incremental  frame vectors recomputing only what a key changed (the CPU speed)
    policies     the model, the recorded keys and the blind 4-gram as key pressers
    loop         key -> editor -> terminal -> frame -> policy, timed per stage
    metrics      token agreement, keys to divergence, file edit distances
    runner       one point end to end: rebuild, warm up, roll out, ground truth, metrics
    output       the rollout shard's meta and the hand-over asciicast
    report       per-policy summaries and the table

Imports ``model``, ``evaluate``, ``replay`` and ``dataset``, never ``train``: the command
loads the run with the helpers ``eval`` uses and hands the model in.
"""

from sessionforge.rollout.points import Point, RolloutError
from sessionforge.rollout.runner import ModelRun, Settings, rollout_point

__all__ = ["ModelRun", "Point", "RolloutError", "Settings", "rollout_point"]
