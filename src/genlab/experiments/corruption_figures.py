"""Experiment 5's figures (Zhang et al. 2017, Fig. 1; Arpit et al. 2017), drawn from its CSVs only.

With several seeds a line is their mean and the band spans their minimum to maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib import colormaps

from ..atomic import save_figure
from ..plots import figure, legend_below, mean_band, plt, scale_y, seeds_note, titled
from .corruption import CORRUPTIONS, INPUT_CORRUPTIONS, SUMMARY_COLUMNS
from .corruption_summary import _histories_frame, _read

INPUT_STYLE = {  # color, marker, label
    "shuffled_pixels": ("tab:red", "s", "shuffled pixels"),
    "random_pixels": ("tab:purple", "^", "random pixels"),
    "gaussian": ("tab:brown", "D", "gaussian"),
}
NOISE_LINE = "tab:blue"  # label-noise runs on the time-to-fit and test-error plots
CLEAN, CORRUPTED = "tab:blue", "tab:red"


def _run_label(corruption: str, p: float) -> str:
    if corruption != "labels":
        return INPUT_STYLE[corruption][2]
    if p == 0:
        return "true labels"
    return "random labels (p = 1)" if p == 1 else f"label noise p = {p:g}"


def _style(corruption: str, p: float) -> dict:
    if corruption == "labels":
        return {"color": colormaps["viridis"](0.9 * p), "linestyle": "-"}
    return {"color": INPUT_STYLE[corruption][0], "linestyle": "--"}


def _band(ax, frame: pd.DataFrame, x: str, y: str, label: str, color, **style):
    """Mean over seeds of y at each x (over the seeds with a value there) and their min-max band; None if no value."""
    stats = mean_band(frame.dropna(subset=[y]), x, y)
    if stats.empty:
        return None
    (line,) = ax.plot(stats.index, stats["mean"], label=label, color=color, **style)
    if stats["count"].max() > 1:
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2, linewidth=0)
    return line


def _curve(ax, run: pd.DataFrame, x: str, y: str, label: str, color, **style):
    """A per-epoch curve over seeds. Runs stop once they fit, so a run's seeds may end at different x:
    the mean and band go as far as every seed went, the seeds that trained longer go on as thin lines."""
    run = run.dropna(subset=[y])
    if run.empty:
        return None
    common = run.groupby("seed")[x].max().min()
    line = _band(ax, run[run[x] <= common], x, y, label, color, **style)
    for _, rows in run[run[x] >= common].groupby("seed"):
        if len(rows) > 1:
            ax.plot(rows[x], rows[y], color=color, linewidth=0.8, alpha=0.7, linestyle=style.get("linestyle", "-"))
    return line


def _ordered_runs(frame: pd.DataFrame) -> list[tuple[str, float]]:
    runs = {(c, float(p)) for c, p in zip(frame["corruption"], frame["label_noise"])}
    return sorted(runs, key=lambda r: (CORRUPTIONS.index(r[0]), r[1]))


def _run_rows(frame: pd.DataFrame, corruption: str, p: float) -> pd.DataFrame:
    return frame[(frame["corruption"] == corruption) & (frame["label_noise"] == p)]


def plot_learning_curves(histories: Sequence[str], run_specs: Sequence[dict], png: str | Path, settings: str = "") -> None:
    """Zhang Fig. 1a: training loss against optimizer steps, one line per noise level and input corruption."""
    frame = _histories_frame(histories, run_specs)
    with figure(png, "Corrupted data: training loss" + seeds_note(frame), figsize=(7.0, 4.4), settings=settings) as ax:
        for corruption, p in _ordered_runs(frame):
            _curve(ax, _run_rows(frame, corruption, p), "step", "train_loss", _run_label(corruption, p), **_style(corruption, p))
        ax.set_xlabel("optimizer steps")
        note = scale_y(ax, frame["train_loss"])  # a fitted run's loss falls decades below the start
        ax.set_ylabel("training cross-entropy loss" + note)
        if not note:
            ax.set_ylim(bottom=0)
        legend_below(ax, ncol=3)


def _input_positions(frame: pd.DataFrame) -> dict[str, float]:
    """Input corruptions sit right of p = 1, each at its own x, with its name as tick label."""
    present = [c for c in INPUT_CORRUPTIONS if (frame["corruption"] == c).any()]
    return {c: 1.0 + 0.25 * (i + 1) for i, c in enumerate(present)}


def _noise_axis(ax, frame: pd.DataFrame, positions: dict[str, float]) -> None:
    ps = sorted(frame.loc[frame["corruption"] == "labels", "label_noise"].unique())
    ticks = [*ps, *positions.values()]
    labels = [f"{p:g}" for p in ps] + [INPUT_STYLE[c][2].replace(" ", "\n") for c in positions]
    ax.set_xticks(ticks, labels, fontsize="small")
    if positions:
        ax.axvline(1.125, color="gray", linewidth=0.8)
    ax.set_xlabel("label noise p  |  input corruptions (true labels)")


def _points(frame: pd.DataFrame, y: str) -> list[tuple[float, str, pd.Series]]:
    """(x, corruption, y over seeds) per run: label runs at x = p, input runs at their own positions."""
    positions = _input_positions(frame)
    return [
        (p if corruption == "labels" else positions[corruption], corruption, _run_rows(frame, corruption, p)[y])
        for corruption, p in _ordered_runs(frame)
    ]


def _marked_point(ax, x: float, values: pd.Series, corruption: str) -> None:
    color, marker, label = INPUT_STYLE[corruption]
    mean = values.mean()
    err = [[mean - values.min()], [values.max() - mean]] if len(values) > 1 else None
    ax.errorbar([x], [mean], yerr=err, color=color, marker=marker, linestyle="none", capsize=3, label=label)


def plot_time_to_fit(summary_csv: str | Path, png: str | Path, settings: str = "") -> None:
    """Zhang Fig. 1b: optimizer steps until train accuracy reached fit_threshold, against label noise.

    Fitted seeds give the mean and min-max, and each seed its own small point; a run with a seed that never fitted also gets a
    hollow marker on the dotted line at the top, labelled with how many seeds did not fit.
    """
    frame = _read(summary_csv, SUMMARY_COLUMNS)
    frame = frame.assign(steps=frame["steps_to_fit"].astype(float))
    top = 1000.0 if frame["steps"].isna().all() else 1.12 * frame["steps"].max()
    with figure(png, "Time to fit the training data" + seeds_note(frame), figsize=(7.0, 4.4), settings=settings) as ax:
        labels = frame[frame["corruption"] == "labels"]
        _band(ax, labels, "label_noise", "steps", "label noise", NOISE_LINE, marker="o", markersize=5)
        unfitted = False
        for x, corruption, values in _points(frame, "steps"):
            fitted = values.dropna()
            if corruption != "labels" and len(fitted):
                _marked_point(ax, x, fitted, corruption)
            if len(fitted) > 1:  # every seed's own time, beside the mean and band
                color = NOISE_LINE if corruption == "labels" else INPUT_STYLE[corruption][0]
                ax.plot([x] * len(fitted), fitted, marker=".", markersize=4, color=color, alpha=0.6, linestyle="none")
            missing = len(values) - len(fitted)
            if missing:
                unfitted = True
                color, marker = (NOISE_LINE, "o") if corruption == "labels" else INPUT_STYLE[corruption][:2]
                ax.plot([x], [top], marker=marker, markersize=8, markerfacecolor="none", markeredgecolor=color, linestyle="none")
                ax.annotate(f"{missing}/{len(values)}", (x, top), textcoords="offset points", xytext=(0, 7), ha="center", fontsize="x-small")
        if unfitted:
            ax.axhline(top, color="gray", linestyle=":", linewidth=0.8)
            ax.text(0.01, 0.99, "hollow, k/n: k of n seeds never reached the threshold", transform=ax.transAxes,
                    va="top", fontsize="x-small", color="gray")
        ax.set_ylim(0, top * 1.15)
        _noise_axis(ax, frame, _input_positions(frame))
        ax.set_ylabel("optimizer steps to fit")
        if ax.get_legend_handles_labels()[0]:
            legend_below(ax)


def plot_test_error(summary_csv: str | Path, png: str | Path, settings: str = "") -> None:
    """Zhang Fig. 1c: test error (1 - test accuracy, true test labels) at the end of training, against label noise."""
    frame = _read(summary_csv, SUMMARY_COLUMNS)
    frame = frame.assign(test_error=1.0 - frame["test_accuracy"])
    with figure(png, "Test error at the end of training" + seeds_note(frame), figsize=(7.0, 4.4), settings=settings) as ax:
        labels = frame[frame["corruption"] == "labels"]
        _band(ax, labels, "label_noise", "test_error", "label noise", NOISE_LINE, marker="o", markersize=5)
        for x, corruption, values in _points(frame, "test_error"):
            if corruption != "labels":
                _marked_point(ax, x, values, corruption)
        ax.axhline(0.9, color="gray", linestyle=":", label="chance (0.9)")
        ax.set_ylim(0, 1.02)
        _noise_axis(ax, frame, _input_positions(frame))
        ax.set_ylabel("test error")
        legend_below(ax)


def plot_memorization(histories: Sequence[str], run_specs: Sequence[dict], png: str | Path, settings: str = "") -> None:
    """Training accuracy on the labels trained on, over clean and over corrupted examples, per epoch;
    one panel per label-noise level p > 0. Corrupted examples are fitted later: memorisation."""
    frame = _histories_frame(histories, run_specs)
    noisy = frame[(frame["corruption"] == "labels") & (frame["label_noise"] > 0)]
    ps = sorted(noisy["label_noise"].unique())
    cols = min(3, max(len(ps), 1))
    rows = max(math.ceil(len(ps) / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False, sharey=True, layout="constrained")
    try:
        flat = list(axes.flat)
        if not ps:
            flat[0].text(0.5, 0.5, "no label-noise run with p > 0", ha="center", va="center", transform=flat[0].transAxes)
        for ax in flat[len(ps):]:
            ax.set_axis_off()
        for ax, p in zip(flat, ps):
            run = noisy[noisy["label_noise"] == p]
            _curve(ax, run, "epoch", "clean_train_accuracy", "clean examples", CLEAN)
            if _curve(ax, run, "epoch", "corrupted_train_accuracy", "corrupted examples", CORRUPTED) is None:
                ax.text(0.5, 0.5, "no corrupted example", ha="center", va="center", transform=ax.transAxes, fontsize="small")
            ax.set_title(f"p = {p:g}", fontsize="medium")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("epoch")
            ax.grid(True, alpha=0.3)
        if ps:
            for ax in axes[:, 0]:
                ax.set_ylabel("train accuracy (labels trained on)")
            handles, labels = flat[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize="small", frameon=False)
        fig.suptitle(titled("Memorization of corrupted labels" + seeds_note(frame), settings))
        save_figure(fig, png)
    finally:
        plt.close(fig)


def plot(
    histories: Sequence[str], run_specs: Sequence[dict], summary_csv: str | Path, pngs: dict[str, str], settings: str = ""
) -> None:
    """All four figures; `pngs` maps FIGURES' keys to output paths; `settings` goes under each title."""
    plot_learning_curves(histories, run_specs, pngs["learning_curves"], settings)
    plot_time_to_fit(summary_csv, pngs["time_to_fit"], settings)
    plot_test_error(summary_csv, pngs["test_error"], settings)
    plot_memorization(histories, run_specs, pngs["memorization"], settings)
