"""What one invocation of ``train`` did, and the one line that says so.

The line is about *this* invocation (a resume included): the steps it ran and the step
the run reached, the first and last loss it logged to ``metrics.jsonl`` (so the line and
the file always agree), and the last validation loss when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainResult:
    """What an invocation of :func:`~sessionforge.train.loop.train` did."""

    losses: list[float] = field(default_factory=list)  # per step run, this rank's window
    logged: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) of each metrics.jsonl record written
    start_step: int = 0  # the step the run was at when this invocation began (0, or the resumed checkpoint's)
    step: int = 0  # the step the run reached
    total_steps: int = 0  # train.steps: where the run stops
    frames: int = 0  # frames trained on by this invocation (all ranks)
    seconds: float = 0.0  # this invocation's training time
    parameters: int = 0
    val_loss: tuple[int, float] | None = None  # (step, loss) of the last validation, when one ran
    run: Path | None = None

    @property
    def steps_run(self) -> int:
        """Steps this invocation ran."""
        return self.step - self.start_step


def summary_line(result: TrainResult) -> str:
    """One line: steps run and reached, size, speed, logged losses, validation, the run folder."""
    fps = result.frames / max(result.seconds, 1e-9)
    if result.steps_run:
        steps = (f"trained {result.steps_run} steps ({result.start_step + 1}-{result.step}; "
                 f"the run is at step {result.step} of {result.total_steps})")
    else:
        steps = f"trained 0 steps (the run is already at step {result.step} of {result.total_steps})"
    parts = [f"{steps}, {result.parameters:,} parameters, {result.frames:,} frames ({fps:,.0f} frames/s)"]
    if result.logged:
        (s0, l0), (s1, l1) = result.logged[0], result.logged[-1]
        parts.append(f"loss {l0:.4f} (step {s0}) -> {l1:.4f} (step {s1})" if s1 != s0 else f"loss {l0:.4f} (step {s0})")
    if result.val_loss is not None:
        parts.append(f"validation loss {result.val_loss[1]:.4f} (step {result.val_loss[0]})")
    parts.append(f"run in {result.run}")
    return "; ".join(parts)
