"""Write a recurrence benchmark's results: console table, JSON, CSV and a PNG plot."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

from sessionforge.tasks.common import TaskError


def accuracy_table(results: list[Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per backbone, one column per n, plus the majority baseline."""
    ns = sorted({r.n for r in results})
    header = ["backbone", "layers", "params"] + [f"n={n}" for n in ns]
    rows = []
    for backbone in dict.fromkeys(r.backbone for r in results):
        cells = {r.n: r for r in results if r.backbone == backbone}
        first = next(iter(cells.values()))
        rows.append([backbone, str(first.layers), f"{first.params:,}"]
                    + [f"{cells[n].accuracy:.3f}" if n in cells else "-" for n in ns])
    majority = {r.n: r.majority for r in results}
    rows.append(["majority class", "-", "-"] + [f"{majority[n]:.3f}" for n in ns])
    return header, rows


def print_table(results: list[Any], title: str) -> None:
    """Print the accuracy-vs-n table with rich."""
    from rich.console import Console
    from rich.table import Table

    header, rows = accuracy_table(results)
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def write_benchmark_results(results: list[Any], config: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write results.json, results.csv and accuracy.png into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [dataclasses.asdict(r) for r in results]
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps({"config": config, "results": rows}, indent=2) + "\n", encoding="utf-8")
    csv_path = out_dir / "results.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    png_path = out_dir / "accuracy.png"
    plot_accuracy(results, png_path, title=f"{config.get('task', '')}: accuracy vs n")
    return [json_path, csv_path, png_path]


def plot_accuracy(results: list[Any], path: Path, title: str = "") -> None:
    """Accuracy against n (log x), one line per backbone, the majority baseline dashed."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for backbone in dict.fromkeys(r.backbone for r in results):
        cells = sorted((r for r in results if r.backbone == backbone), key=lambda r: r.n)
        ax.plot([r.n for r in cells], [r.accuracy for r in cells], marker="o",
                label=f"{backbone} ({cells[0].layers} layer{'s' if cells[0].layers > 1 else ''})")
    base = sorted({(r.n, r.majority) for r in results})
    ax.plot([n for n, _ in base], [m for _, m in base], "k--", alpha=0.5, label="majority class")
    ax.set_xscale("log")
    ns = sorted({r.n for r in results})
    ax.set_xticks(ns, [f"{n:,}" for n in ns])  # the measured n, not 8x10^0 style ticks
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("n (stream size)")
    ax.set_ylabel("per-step accuracy (held out)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend, or a clear error if it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise TaskError("plots need matplotlib: pip install 'sessionforge[train]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
