"""``justrl-train plot RUN``: the training-dynamics figure of a run, as in the JustRL paper.

Panels, from ``RUN/metrics.jsonl`` (native runs, or veRL runs after ``justrl-train import-verl``):
policy entropy (``actor/entropy``), mean reward (``critic/score/mean``), mean response length in
tokens (``response_length/mean``) and, when any ``val/<BENCH>/avg@k`` is logged, validation accuracy
per benchmark. The x axis is the rollout step. With smoothing (a trailing moving average over
``smooth`` steps), the raw curve stays visible, faint, behind the smoothed one.

matplotlib (the ``train`` extra) is imported lazily and drawn with its Agg renderer without pyplot (no global
backend switch, safe inside notebooks); the PNG is written atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from justrl.train.config import TrainError

METRICS_FILE = "metrics.jsonl"
DEFAULT_OUTPUT = "training.png"

# (metric key, panel title, y-axis label)
DYNAMICS_PANELS = (
    ("actor/entropy", "Policy entropy", "entropy (nats / token)"),
    ("critic/score/mean", "Mean reward", "reward"),
    ("response_length/mean", "Mean response length", "tokens"),
)
_VAL_KEY = re.compile(r"val/(.+)/avg@(\d+)")


class PlotError(TrainError):
    """The run cannot be plotted. The message is one line: what is wrong, what to do."""


def read_metrics(path: Path) -> list[dict]:
    """Rows of a metrics.jsonl file that carry a step (blank or torn last lines are skipped)."""
    if not path.is_file():
        raise PlotError(f"{path} not found: train with `justrl-train --output-dir RUN` or import a veRL run "
                        "with `justrl-train import-verl LOGS --output-dir RUN`")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a killed run
            if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
                rows.append(row)
    if not rows:
        raise PlotError(f"{path} holds no metric rows yet")
    return rows


def series(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) where ``key`` has a finite number; a step logged twice keeps its last value."""
    points: dict[float, float] = {}
    for row in rows:
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            points[row["step"]] = float(value)
    steps = sorted(points)
    return steps, [points[s] for s in steps]


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start); ``window`` <= 1 is the identity."""
    if window <= 1:
        return list(values)
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def validation_keys(rows: list[dict]) -> list[str]:
    """The ``val/<BENCH>/avg@k`` keys present, sorted by benchmark name."""
    keys = {key for row in rows for key in row if _VAL_KEY.fullmatch(key)}
    return sorted(keys)


def auto_window(n_points: int) -> int:
    """Default smoothing: about 1/25 of the run, no smoothing for short runs."""
    return max(1, round(n_points / 25))


def _new_figure(**kwargs):
    """A matplotlib Figure drawn by the Agg renderer, without pyplot (no global backend or figure state)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError("matplotlib is not installed: pip install 'justrl[train]'") from None
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def plot_run(run_dir: str | Path, output: str | Path | None = None, *, smooth: int | None = None,
             title: str | None = None) -> Path:
    """Draw ``run_dir/metrics.jsonl`` (or a metrics file given directly) into a PNG; returns its path.

    ``output`` defaults to ``RUN/training.png``; ``smooth`` is the moving-average window in steps
    (None: :func:`auto_window`, 1: raw curves only).
    """
    run = Path(run_dir)
    metrics_path = run if run.is_file() else run / METRICS_FILE
    rows = read_metrics(metrics_path)
    out = Path(output) if output is not None else metrics_path.parent / DEFAULT_OUTPUT
    if out.suffix.lower() != ".png":
        raise PlotError(f"{out}: the figure is written as PNG; give an output name ending in .png")
    val_keys = validation_keys(rows)
    # one row of three panels; a 2 x 2 grid when validation accuracy is the fourth
    rows_, cols = (2, 2) if val_keys else (1, len(DYNAMICS_PANELS))
    fig = _new_figure(figsize=(5.0 * cols, 3.7 * rows_))
    axes = fig.subplots(rows_, cols, squeeze=False).ravel()
    for ax, (key, panel_title, ylabel) in zip(axes[:len(DYNAMICS_PANELS)], DYNAMICS_PANELS, strict=True):
        steps, values = series(rows, key)
        _draw(ax, steps, values, smooth, color="C0")
        _decorate(ax, panel_title, ylabel, has_data=bool(steps), key=key)
    if val_keys:
        ax = axes[-1]
        for i, key in enumerate(val_keys):
            steps, values = series(rows, key)
            bench, k = _VAL_KEY.fullmatch(key).groups()
            ax.plot(steps, [100 * v for v in values], marker="o", markersize=3, color=f"C{i}",
                    label=f"{bench} (avg@{k})")
        ax.legend(fontsize=8, frameon=False)
        _decorate(ax, "Validation accuracy", "accuracy (%)", has_data=True, key="val/*/avg@k")
    fig.suptitle(title or f"{metrics_path.parent.name or metrics_path.stem}: training dynamics", fontsize=11)
    fig.tight_layout()
    _save_atomic(fig, out)
    return out


def _draw(ax, steps: list[float], values: list[float], smooth: int | None, color: str) -> None:
    window = auto_window(len(values)) if smooth is None else smooth
    if window > 1:
        ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(steps, moving_average(values, window), color=color, linewidth=1.6, label=f"mean of {window} steps")
        ax.legend(fontsize=8, frameon=False)
    else:
        ax.plot(steps, values, color=color, linewidth=1.4, marker="o" if len(values) <= 30 else None,
                markersize=3)


def _decorate(ax, title: str, ylabel: str, *, has_data: bool, key: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if not has_data:
        ax.text(0.5, 0.5, f"no {key} logged", transform=ax.transAxes, ha="center", va="center", color="0.5")


def _save_atomic(fig, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=130)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a figure is not
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """``justrl-train plot RUN [--output FILE] [--smooth N]``."""
    parser = argparse.ArgumentParser(prog="justrl-train plot",
                                     description="Plot entropy, mean reward, response length and validation "
                                                 "accuracy of a run into a PNG.")
    parser.add_argument("run", help="run folder (holding metrics.jsonl) or a metrics.jsonl file")
    parser.add_argument("--output", help="PNG to write (default: RUN/training.png)")
    parser.add_argument("--smooth", type=int, default=None,
                        help="moving-average window in steps (default: about 1/25 of the run; 1 = none)")
    parser.add_argument("--title", help="figure title (default: the run folder's name)")
    args = parser.parse_args(argv)
    if args.smooth is not None and args.smooth < 1:
        print("justrl-train plot: --smooth must be at least 1 (1 = no smoothing)", file=sys.stderr)
        return 2
    try:
        path = plot_run(args.run, args.output, smooth=args.smooth, title=args.title)
    except PlotError as exc:
        print(f"justrl-train plot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
