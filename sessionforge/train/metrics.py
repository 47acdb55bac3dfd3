"""Training metrics: ``RUN/metrics.jsonl`` (one JSON object per logged step), TensorBoard optional.

Each record has at least: step, loss, frames, elapsed_s, lr, window, and
``loss_by_position`` -- the mean loss over equal-width position buckets within the
window (bucket k covers positions [k*L/n, (k+1)*L/n)): with a recurrent model the
later buckets should have lower loss, since they see more context.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import torch


def bucket_means(position_loss: torch.Tensor, buckets: int) -> list[float]:
    """(L,) per-position losses -> ``buckets`` means over equal-width position ranges."""
    L = position_loss.shape[0]
    n = min(buckets, L)
    edges = [round(k * L / n) for k in range(n + 1)]
    return [float(position_loss[a:b].mean()) for a, b in zip(edges[:-1], edges[1:])]


def peak_memory_bytes(device: torch.device) -> int:
    """Peak device memory on CUDA; peak resident set size of the process on a CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # Linux reports KiB


class MetricsWriter:
    """Appends records to ``RUN/metrics.jsonl`` (and TensorBoard scalars when asked and installed)."""

    def __init__(self, run: Path, tensorboard: bool = False) -> None:
        self.path = Path(run) / "metrics.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        self._tb = None
        self.warning: str | None = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.warning = "tensorboard is not installed; metrics go to metrics.jsonl only"
            else:
                self._tb = SummaryWriter(str(Path(run) / "tensorboard"))

    def write(self, record: dict) -> None:
        """Append one record; scalars also go to TensorBoard."""
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self._tb.add_scalar(key, value, record["step"])
            for k, value in enumerate(record.get("loss_by_position", [])):
                self._tb.add_scalar(f"loss_by_position/{k}", value, record["step"])

    def close(self) -> None:
        """Flush and close."""
        self._file.close()
        if self._tb is not None:
            self._tb.close()
