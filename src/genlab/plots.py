"""The seven figures, each drawn from CSVs only: every plotted number is in a file.

With several seeds, a line is the mean over seeds and the shaded band spans
their minimum to maximum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import read_csv, save_figure  # noqa: E402
from .errors import GenlabError  # noqa: E402

TRAIN, TEST, SENS = "tab:blue", "tab:orange", "tab:green"


def _grouped(rows: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """x values (sorted) and, for each, the y values over seeds."""
    by_x = defaultdict(list)
    for row in rows:
        by_x[float(row[x_key])].append(float(row[y_key]))
    xs = sorted(by_x)
    return np.array(xs), [np.array(by_x[x]) for x in xs]


def _line(ax, rows: list[dict], x_key: str, y_key: str, label: str, color: str, marker: str | None = None):
    xs, ys = _grouped(rows, x_key, y_key)
    mean = np.array([y.mean() for y in ys])
    (line,) = ax.plot(xs, mean, label=label, color=color, marker=marker, markersize=4)
    if max(len(y) for y in ys) > 1:
        ax.fill_between(xs, [y.min() for y in ys], [y.max() for y in ys], color=color, alpha=0.2, linewidth=0)
    return line


def _rows(paths: Sequence[str | Path]) -> list[dict]:
    rows = [row for path in paths for row in read_csv(path)]
    if not rows:
        raise GenlabError(f"no rows to plot in {', '.join(map(str, paths))}")
    return rows


def _seeds_note(rows: list[dict], key: str = "seed") -> str:
    seeds = sorted({int(r[key]) for r in rows if key in r})
    if len(seeds) > 1:
        return f" (mean and min-max over {len(seeds)} seeds)"
    return f" (seed {seeds[0]})" if seeds else ""


def _finish(fig, ax, path, title: str) -> None:
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    save_figure(fig, path)
    plt.close(fig)


def plot_random_labels(histories: Sequence[str], loss_png: str, accuracy_png: str) -> None:
    rows = _rows(histories)
    note = _seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "cross-entropy loss"), ("accuracy", accuracy_png, "accuracy")):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        _line(ax, rows, "epoch", f"train_{metric}", "train (random labels)", TRAIN)
        _line(ax, rows, "epoch", f"test_{metric}", "test (true labels)", TEST)
        if metric == "accuracy":
            ax.axhline(0.1, color="gray", linestyle=":", label="chance")
            ax.set_ylim(0, 1.02)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend()
        _finish(fig, ax, path, "Random labels: " + metric + note)


def plot_params_vs_gen(metrics_csv: str, loss_png: str, accuracy_png: str) -> None:
    rows = _rows([metrics_csv])
    note = _seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "final cross-entropy loss"), ("accuracy", accuracy_png, "final accuracy")):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        _line(ax, rows, "n_params", f"train_{metric}", "train", TRAIN, marker="o")
        _line(ax, rows, "n_params", f"test_{metric}", "test", TEST, marker="o")
        ax.set_xscale("log")
        ax.set_xlabel("number of parameters")
        ax.set_ylabel(ylabel)
        ax.legend()
        _finish(fig, ax, path, "Parameters vs generalization" + note)


def plot_interpolation(csvs: Sequence[str], png: str) -> None:
    rows = _rows(csvs)
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    handles = [
        _line(ax, rows, "alpha", "train_loss", "train loss", TRAIN),
        _line(ax, rows, "alpha", "test_loss", "test loss", TEST),
    ]
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$   ($\theta = (1-\alpha)\,\theta_A + \alpha\,\theta_B$; A: large batch, B: small batch)")
    ax.set_ylabel("cross-entropy loss (log scale)")
    acc = ax.twinx()
    handles += [
        _line(acc, rows, "alpha", "train_accuracy", "train accuracy", TRAIN),
        _line(acc, rows, "alpha", "test_accuracy", "test accuracy", TEST),
    ]
    for line in handles[2:]:
        line.set_linestyle("--")
    acc.set_ylabel("accuracy (dashed)")
    acc.set_ylim(0, 1.02)
    # Below the axes: the curves fill the whole frame at both ends.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize="small", ncol=4)
    _finish(fig, ax, png, "Flatness: interpolation between two solutions" + _seeds_note(rows, "seed_a"))


def plot_sensitivity(summary_csv: str, accuracy_png: str, loss_png: str) -> None:
    rows = _rows([summary_csv])
    note = _seeds_note(rows)
    output = rows[0].get("output", "softmax")
    for metric, path, ylabel in (("accuracy", accuracy_png, "final accuracy"), ("loss", loss_png, "final cross-entropy loss")):
        fig, ax = plt.subplots(figsize=(6.8, 4.2))
        handles = [
            _line(ax, rows, "batch_size", f"train_{metric}", f"train {metric}", TRAIN, marker="o"),
            _line(ax, rows, "batch_size", f"test_{metric}", f"test {metric}", TEST, marker="o"),
        ]
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size")
        ax.set_ylabel(ylabel)
        sens = ax.twinx()
        handles.append(_line(sens, rows, "batch_size", "sensitivity", f"sensitivity ({output})", SENS, marker="s"))
        sens.set_ylabel(r"sensitivity: mean $\|\partial f/\partial x\|_F$")
        ax.legend(handles=handles, loc="best", fontsize="small")
        _finish(fig, ax, path, f"Sensitivity and {metric} vs batch size" + note)
