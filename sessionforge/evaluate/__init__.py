"""sessionforge.evaluate: a trained run scored on held-out frames, beside count baselines.

``sessionforge eval`` (:mod:`sessionforge.commands.eval`) loads the run and calls
:func:`~sessionforge.evaluate.runner.evaluate`. Modules::

    units      which windows are scored (cut as training cuts them), their targets and frames
    baselines  the add-one unigram and the interpolated Witten-Bell n-gram over targets
    classes    the action class of a target token (typed, Enter/Tab, cursor, edit, file, ...)
    metrics    cross-entropy, bits per action byte, top-k, loss by position and by class; the table
    runner     the streaming no_grad scoring of the model and the whole evaluation

Imports ``model`` and ``dataset``, never ``train``: training's chunk loss is handed in.
"""

from sessionforge.evaluate.runner import EvalResult, EvalSettings, evaluate

__all__ = ["EvalResult", "EvalSettings", "evaluate"]
