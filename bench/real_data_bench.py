"""The paper's claims on real sessions, at CPU scale: one command, rerunnable.

    python bench/real_data_bench.py                      # this repository's history, ~45 min on 2 cores
    python bench/real_data_bench.py ~/src/a ~/src/b      # ... plus these repositories
    python bench/real_data_bench.py --quick              # tiny: the pipeline end to end in < 1 minute

Held out honestly: splits are by repository and one repository lands wholly in one split,
so the held-out data here is *time*. Each repository's first-parent history (pinned at the
HEAD it had when the bench started) is cut at 80% of its commits: a dataset of the older
commits (all train) and one of the later commits (``--set replay.start_commit=...``, all
val). Models train on the older commits only, validate on the later ones while training
(``train.eval_every``), and are scored on them by ``sessionforge eval --baseline-data``,
with the unigram and 4-gram fitted on the older commits. This measures the future of the
same code bases, not unseen repositories.

Runs (``configs/cpu-experiment.yaml``, one tokenizer, the same frame budget each: every
step is window x batch = 1,024 frames):

* integrators at L=64 with matched parameter counts: LSTM 64, causal Transformer 64 wide
  (MLP x1), gated linear RNN 56 wide (no MLP), printed with their counts;
* the LSTM at L = 16, 64, 256 (batch 64, 16, 4), then ``sessionforge report scaling``;
* the LSTM at L=64 with ``optim.name=muon`` against AdamW.

Outputs in ``--out``: ``results.md`` (the table), ``results.json``, ``loss_vs_window.png``
(held-out loss against L, log-log, fitted alpha), ``loss_vs_time.png`` (validation loss
against training time), ``loss_by_position.png`` (held-out loss by position in the window),
the data, the runs with their ``eval.json``, and ``scaling-report/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "cpu-experiment.yaml"
# Integrators at matched parameter counts (the output width sets the action head's size too).
INTEGRATORS = {
    "lstm": ["model.integrator.kind=lstm", "model.integrator.hidden=64", "model.integrator.layers=1"],
    "transformer": ["model.integrator.kind=transformer", "model.integrator.hidden=64", "model.integrator.layers=1",
                    "model.integrator.heads=4", "model.integrator.ffn_mult=1"],
    "linear-rnn": ["model.integrator.kind=linear-rnn", "model.integrator.hidden=56", "model.integrator.layers=1",
                   "model.integrator.ffn_mult=0"],
}


@dataclass
class Repo:
    """One repository's held-out cut: the older and the later dataset."""

    name: str
    path: Path
    commits: int
    boundary: int  # the first held-out commit's index
    older: Path
    later: Path
    first_later: str = ""


@dataclass
class Run:
    """One training run and what came of it."""

    name: str
    integrator: str
    window: int
    batch: int
    optimizer: str = "adamw"
    overrides: list[str] = field(default_factory=list)
    parameters: int = 0
    integrator_parameters: int = 0
    result: dict = field(default_factory=dict)


@dataclass
class Settings:
    """The budget: full experiment or --quick."""

    steps: int
    frames_per_step: int  # window x batch, every run
    windows: tuple[int, int, int]
    eval_frames: int
    val_frames: int  # frames per validation (eval_windows = val_frames // L)
    evals: int  # validations per run
    vocab: int
    session_frames: int


# eval_frames: more than the later history holds, so every run scores all of it (the same targets, whatever L).
FULL = Settings(steps=1200, frames_per_step=1024, windows=(16, 64, 256), eval_frames=4_000_000, val_frames=8192,
                evals=8, vocab=1024, session_frames=100_000)
QUICK = Settings(steps=6, frames_per_step=64, windows=(4, 8, 16), eval_frames=256, val_frames=64, evals=2,
                 vocab=400, session_frames=20_000)


def sf(args: list, in_process: bool) -> None:
    """Run a ``sessionforge`` command (in this process for --quick: no start-up cost)."""
    argv = [str(a) for a in args]
    print("$ sessionforge " + " ".join(argv), flush=True)
    if in_process:
        from sessionforge.cli import main

        try:
            main(argv)
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"sessionforge {argv[0]} failed ({exc.code})") from None
        return
    subprocess.run([sys.executable, "-m", "sessionforge.cli", *argv], check=True)


def parallel(commands: list[list], jobs: int, in_process: bool) -> None:
    """Run sessionforge commands, ``jobs`` at a time (in order, in this process, for --quick)."""
    if in_process or jobs <= 1:
        for c in commands:
            sf(c, in_process)
        return
    pending, running = list(commands), []
    while pending or running:
        while pending and len(running) < jobs:
            c = [str(a) for a in pending.pop(0)]
            print("$ sessionforge " + " ".join(c), flush=True)
            running.append((c, subprocess.Popen([sys.executable, "-m", "sessionforge.cli", *c])))
        for item in list(running):
            if item[1].poll() is not None:
                running.remove(item)
                if item[1].returncode:
                    raise RuntimeError(f"sessionforge {item[0][0]} failed ({item[1].returncode}): {' '.join(item[0])}")
        time.sleep(0.5)


def first_parent(repo: Path, max_commits: int | None) -> list[str]:
    """First-parent commits at HEAD, oldest first (the oldest ``max_commits``)."""
    out = subprocess.run(["git", "-C", str(repo), "rev-list", "--first-parent", "--reverse", "HEAD"],
                         check=True, capture_output=True, text=True).stdout.split()
    return out[:max_commits] if max_commits else out


def build_data(paths: list[Path], work: Path, holdout: float, max_commits: int | None, s: Settings,
               jobs: int, in_process: bool) -> list[Repo]:
    """The older and the later dataset of every repository (see the module doc)."""
    repos, commands = [], []
    for k, path in enumerate(paths):
        commits = first_parent(path, max_commits)
        if len(commits) < 2:
            raise SystemExit(f"{path}: {len(commits)} commit(s): nothing to hold out")
        cut = min(len(commits) - 1, max(1, round(len(commits) * (1 - holdout))))
        name = f"{k}-{path.resolve().name}"
        r = Repo(name, path, len(commits), cut, work / "data" / f"older-{name}", work / "data" / f"later-{name}",
                 commits[cut])
        repos.append(r)
        common = ["--session-frames", s.session_frames, "--quiet", "--overwrite"]
        commands.append(["build-dataset", path, "--out", r.older, "--set", f"replay.end_commit={commits[cut - 1]}",
                         "--split-ratio", "val=0,test=0", *common])
        commands.append(["build-dataset", path, "--out", r.later, "--set", f"replay.start_commit={commits[cut]}",
                         "--set", f"replay.end_commit={commits[-1]}", "--split-ratio", "val=1,test=0", *common])
    parallel(commands, jobs, in_process)
    return repos


def plan(s: Settings) -> list[Run]:
    """The runs: integrators at the middle L, the LSTM at every L, Muon once."""
    short, mid, long_ = s.windows
    F = s.frames_per_step
    runs = [Run(f"{kind}-L{mid}", kind, mid, F // mid) for kind in INTEGRATORS]
    runs += [Run(f"lstm-L{L}", "lstm", L, F // L) for L in (short, long_)]
    runs.append(Run(f"lstm-L{mid}-muon", "lstm", mid, F // mid, optimizer="muon"))
    for r in runs:
        r.overrides = [*INTEGRATORS[r.integrator], f"train.window={r.window}", f"train.batch={r.batch}",
                       f"optim.name={r.optimizer}"]
        r.parameters, r.integrator_parameters = count(r.overrides, s.vocab)
    return runs


def count(overrides: list[str], vocab: int) -> tuple[int, int]:
    """(model, integrator) parameters of the config with ``overrides`` (on the meta device)."""
    import torch

    from sessionforge.config import load_config
    from sessionforge.model.fbam import FBAM, count_parameters
    from sessionforge.train.config import TrainConfig

    cfg = load_config(TrainConfig, CONFIG, overrides)
    with torch.device("meta"):
        model = FBAM(cfg.model, vocab)
    return count_parameters(model), count_parameters(model.integrator)


def train_command(r: Run, repos: list[Repo], tok: Path, runs: Path, s: Settings) -> list:
    every = max(1, s.steps // s.evals)
    sets = [*r.overrides, f"train.steps={s.steps}", f"train.eval_every={every}",
            f"train.eval_windows={max(1, s.val_frames // r.window)}", f"train.checkpoint_every={s.steps}",
            f"train.log_every={max(1, every // 4)}", "train.keep_checkpoints=1"]
    return ["train", "--config", CONFIG, *(a for rp in repos for a in ("--data", rp.older)),
            *(a for rp in repos for a in ("--val-data", rp.later)), "--tokenizer", tok, "--out", runs / r.name,
            "--overwrite", "--no-progress", *(a for kv in sets for a in ("--set", kv))]


def eval_commands(r: Run, repos: list[Repo], runs: Path, s: Settings) -> list[list]:
    return [["eval", runs / r.name, "--data", rp.later, "--split", "val", "--baseline-data", rp.older,
             "--frames", s.eval_frames, "--json", runs / r.name / f"eval-{rp.name}.json", "--no-progress"]
            for rp in repos]


def collect(r: Run, repos: list[Repo], runs: Path) -> dict:
    """The run's training numbers (metrics.jsonl) and held-out numbers (eval JSONs, pooled over repositories)."""
    rows = [json.loads(line) for line in (runs / r.name / "metrics.jsonl").read_text().splitlines() if line.strip()]
    train_rows = [x for x in rows if "loss" in x]
    val_rows = [x for x in rows if "val_loss" in x]
    evals = [json.loads((runs / r.name / f"eval-{rp.name}.json").read_text()) for rp in repos]
    pooled = {}
    for name in ("model", "ngram", "unigram"):
        n = sum(e["targets"] for e in evals)
        ce = sum(e["predictors"][name]["cross_entropy"] * e["targets"] for e in evals) / n
        nbytes = sum(e["action_bytes"] for e in evals)
        top1 = sum(e["predictors"][name]["top1"] * e["targets"] for e in evals) / n
        buckets = range(len(evals[0]["position_buckets"]))
        by_pos = [sum((e["predictors"][name]["loss_by_position"][k] or 0) * e["position_counts"][k] for e in evals)
                  / max(1, sum(e["position_counts"][k] for e in evals)) for k in buckets]
        pooled[name] = {"cross_entropy": ce, "bits_per_byte": ce * n / math.log(2) / max(nbytes, 1), "top1": top1,
                        "loss_by_position": by_pos}
    last = train_rows[-1]
    tail = train_rows[-max(1, len(train_rows) // 10):]
    return {
        "frames": last["frames"], "train_seconds": last["elapsed_s"],
        "frames_per_s": last["frames"] / last["elapsed_s"],
        "final_train_loss": sum(x["loss"] for x in tail) / len(tail),
        "val": [(x["elapsed_s"], x["val_loss"]) for x in val_rows], "final_val_loss": val_rows[-1]["val_loss"],
        "eval": pooled, "eval_targets": sum(e["targets"] for e in evals),
        "position_buckets": evals[0]["position_buckets"],
    }


def cpu_name() -> str:
    """The CPU's model name (Linux), else the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fit_alpha(windows: list[int], losses: list[float]) -> tuple[float, float]:
    """(A, alpha) of loss = A * L^-alpha by least squares in log-log space."""
    import numpy as np

    slope, intercept = np.polyfit(np.log(windows), np.log(losses), 1)
    return float(math.exp(intercept)), float(-slope)


def plots(runs: list[Run], series: list[Run], out: Path) -> tuple[float, float]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Ls = [r.window for r in series]
    held = [r.result["eval"]["model"]["cross_entropy"] for r in series]
    A, alpha = fit_alpha(Ls, held)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(Ls, held, "o-", label="LSTM, held out (eval)")
    ax.loglog(Ls, [r.result["final_val_loss"] for r in series], "s--", label="LSTM, validation (zero state)")
    ax.loglog(Ls, [A * L ** -alpha for L in Ls], ":", label=f"fit: {A:.2f} L^-alpha, alpha = {alpha:.4f}")
    _finish(fig, ax, "training window L (frames)", "cross-entropy (nats/token)", 8, out / "loss_vs_window.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in runs:
        t, v = zip(*r.result["val"])
        ax.plot(t, v, "o-", label=r.name, markersize=3)
    _finish(fig, ax, "training time (s, validation excluded)", "validation loss (nats/token)", 7,
            out / "loss_vs_time.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in runs:
        mids = [(a + b - 1) / 2 for a, b in r.result["position_buckets"]]
        ax.plot(mids, r.result["eval"]["model"]["loss_by_position"], "o-", label=r.name, markersize=3)
    ax.set_xscale("log")
    _finish(fig, ax, "position in the window (frames)", "held-out loss (nats/token)", 7,
            out / "loss_by_position.png")
    plt.close("all")
    return A, alpha


def table(runs: list[Run], repos: list[Repo], fit: tuple[float, float], s: Settings, minutes: float) -> str:
    """The markdown report."""
    lines = [
        f"Held out: the later {100 * (1 - repos[0].boundary / repos[0].commits):.0f}% of each repository's "
        "first-parent history, never trained on: "
        + "; ".join(f"{r.path.resolve().name}: commits {r.boundary + 1}-{r.commits} of {r.commits} "
                    f"(from {r.first_later[:12]})" for r in repos)
        + ". Baselines fitted on the older commits. Every run: "
        f"{s.steps} steps x {s.frames_per_step:,} frames. {cpu_name()}, {os.cpu_count()} cores, "
        f"{minutes:.1f} minutes in all.",
        "",
        "| run | integrator | L | batch | optimizer | parameters (integrator) | frames/s | train loss "
        "| val loss (zero state) | held-out CE model | 4-gram | unigram | model - unigram | model bits/byte | top-1 |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        x, e = r.result, r.result["eval"]
        lines.append(
            f"| {r.name} | {r.integrator} | {r.window} | {r.batch} | {r.optimizer} | {r.parameters:,} "
            f"({r.integrator_parameters:,}) | {x['frames_per_s']:,.0f} | {x['final_train_loss']:.4f} "
            f"| {x['final_val_loss']:.4f} | {e['model']['cross_entropy']:.4f} | {e['ngram']['cross_entropy']:.4f} "
            f"| {e['unigram']['cross_entropy']:.4f} "
            f"| {e['model']['cross_entropy'] - e['unigram']['cross_entropy']:+.4f} | {e['model']['bits_per_byte']:.4f} "
            f"| {100 * e['model']['top1']:.1f}% |")
    lines += ["", f"LSTM held-out loss against L: loss = {fit[0]:.3f} * L^-alpha with alpha = {fit[1]:.4f} (fitted "
              f"on the eval cross-entropy at L = {', '.join(str(L) for L in s.windows)}; `scaling-report/` fits the "
              "training loss)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="*", type=Path, help="more git repositories (this one is always included "
                    "unless --no-self)")
    ap.add_argument("--no-self", action="store_true", help="leave this repository out")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "real-data")
    ap.add_argument("--quick", action="store_true", help="tiny data and runs, in this process: < 1 minute")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (each step 1,024 frames; --quick 64)")
    ap.add_argument("--holdout", type=float, default=0.2, help="share of each history's commits held out")
    ap.add_argument("--max-commits", type=int, default=None, help="only the oldest N commits of each repository")
    ap.add_argument("--jobs", type=int, default=2, help="runs side by side (one core each)")
    args = ap.parse_args(argv)
    s = QUICK if args.quick else FULL
    if args.steps:
        s = Settings(**{**s.__dict__, "steps": args.steps})
    max_commits = args.max_commits or (6 if args.quick else None)
    paths = ([] if args.no_self else [ROOT]) + list(args.repos)
    if not paths:
        raise SystemExit("no repository: give one, or drop --no-self")
    t0 = time.perf_counter()
    work, in_process = args.out, args.quick
    work.mkdir(parents=True, exist_ok=True)
    repos = build_data(paths, work, args.holdout, max_commits, s, args.jobs, in_process)
    tok = work / "tokenizer.json"
    sf(["tokenizer", "build", *(r.older for r in repos), "-o", tok, "--vocab", s.vocab], in_process)
    runs = plan(s)
    base = runs[0].parameters
    print("parameters: " + ", ".join(f"{r.name} {r.parameters:,} (integrator {r.integrator_parameters:,})"
                                     for r in runs))
    for r in runs[1:3]:
        assert abs(r.parameters - base) <= 0.1 * base, f"{r.name}: {r.parameters:,} vs {base:,} parameters"
    rdir = work / "runs"
    # Longest runs first, so that two side by side finish together.
    order = sorted(runs, key=lambda r: -r.window)
    parallel([train_command(r, repos, tok, rdir, s) for r in order], args.jobs, in_process)
    parallel([c for r in order for c in eval_commands(r, repos, rdir, s)], args.jobs, in_process)
    series = [next(r for r in runs if r.name == f"lstm-L{L}") for L in s.windows]
    sf(["report", "scaling", *(rdir / r.name for r in series), "-o", work / "scaling-report"], in_process)
    for r in runs:
        r.result = collect(r, repos, rdir)
    fit = plots(runs, series, work)
    minutes = (time.perf_counter() - t0) / 60
    report = table(runs, repos, fit, s, minutes)
    (work / "results.md").write_text(report)
    (work / "results.json").write_text(json.dumps({
        "settings": s.__dict__, "minutes": minutes, "alpha": fit[1], "A": fit[0],
        "repos": [{"path": str(r.path), "commits": r.commits, "boundary": r.boundary, "first_later": r.first_later}
                  for r in repos],
        "runs": [{k: v for k, v in r.__dict__.items()} for r in runs]}, indent=1, default=str) + "\n")
    print()
    print(report)
    print(f"wrote {work / 'results.md'}, results.json and the plots in {work}")


if __name__ == "__main__":
    main()


def _finish(fig, ax, xlabel: str, ylabel: str, legend_size: int, path: Path) -> None:
    """Label, lay out and save one plot (every plot of the report ends the same way)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
