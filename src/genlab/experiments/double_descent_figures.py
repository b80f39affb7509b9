"""Experiment 6's figures (Belkin et al. 2019, Fig. 1; Nakkiran et al. 2019, Fig. 2), drawn from its CSVs only.

With several seeds a line is their mean and the band spans their minimum to maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps

from ..atomic import save_figure
from ..columns import HISTORY_COLUMNS, SAMPLING_COLUMNS
from ..errors import GenlabError
from ..plots import legend_below, mean_band, plt, read_table, seeds_note
from .double_descent import SUMMARY_COLUMNS

MODEL_NAMES = {"fc": "fc 784-H-10", "width_cnn": "conv(w)-dense(w)-10"}
# What a history must have (the sampling columns are read where present).
HISTORY_REQUIRED = [c for c in HISTORY_COLUMNS if c not in SAMPLING_COLUMNS]


def _color(p: float, levels: Sequence[float]):
    top = max(levels) or 1.0
    return colormaps["viridis"](0.85 * p / top)


def _settings(frame: pd.DataFrame, settings: str) -> str:
    """Two lines: the settings line (preset, images, epochs, seeds: genlab.plots.settings_line), then the
    model and optimiser; without a settings line, the images, epochs and seeds from the table."""
    row = frame.iloc[0]
    model = MODEL_NAMES.get(str(row["model"]), str(row["model"]))
    optimiser = f"{model}, Adam lr {float(row['lr']):g}, batch {int(row['batch_size'])}"
    if settings:
        return f"{settings}\n{optimiser}"
    return f"{optimiser}, {int(row['n_train'])} images, {int(row['epochs'])} epochs" + seeds_note(frame)


def _read_summary(summary_csv: str | Path) -> pd.DataFrame:
    frame = read_table(summary_csv, SUMMARY_COLUMNS)
    if frame.empty:
        raise GenlabError(f"{summary_csv}: no rows")
    return frame


def plot_model_wise(summary_csv: str | Path, png: str | Path, settings: str = "") -> None:
    """Test error (solid) and train error on the labels trained on (dashed) against the parameter count,
    one colour per noise level, each level's measured interpolation threshold a dotted vertical line."""
    frame = _read_summary(summary_csv)
    levels = sorted(float(p) for p in frame["label_noise"].unique())
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    try:
        for p in levels:
            rows = frame[frame["label_noise"] == p]
            color = _color(p, levels)
            for column, style, what in (("test_error", "-", "test"), ("train_error", "--", "train")):
                band = mean_band(rows, "n_params", column)
                ax.plot(band.index, band["mean"], linestyle=style, marker="o" if what == "test" else None, markersize=3,
                        color=color, label=f"{what} error, label noise {p:g}")
                if band["count"].max() > 1:
                    ax.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.15, linewidth=0)
            threshold = rows["threshold_n_params"].dropna()
            if len(threshold):
                width = int(rows["threshold_width"].dropna().iloc[0])
                ax.axvline(float(threshold.iloc[0]), color=color, linestyle=":", linewidth=1.2,
                           label=f"threshold, noise {p:g} (H = {width})")
        ax.set_xscale("log")
        ax.set_xlabel("number of parameters (log scale)")
        ax.set_ylabel("error (fraction misclassified)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.set_title("Model-wise double descent\n" + _settings(frame, settings), fontsize="medium")
        legend_below(ax, ncol=3)
        save_figure(fig, png)
    finally:
        plt.close(fig)


def _histories(histories: Sequence[str], run_specs: Sequence[dict]) -> pd.DataFrame:
    if len(histories) != len(run_specs):
        raise GenlabError(f"double_descent: {len(histories)} histories but {len(run_specs)} run specs")
    if not histories:
        raise GenlabError("double_descent: no history to plot")
    frames = []
    for path, spec in zip(histories, run_specs):
        hist = read_table(path, HISTORY_REQUIRED)
        if hist.empty:
            raise GenlabError(f"{path}: no rows")
        frames.append(hist.assign(width=int(spec["width"]), label_noise=float(spec["label_noise"])))
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(test_error=1.0 - frame["test_accuracy"])


def plot_epoch_wise(histories: Sequence[str], run_specs: Sequence[dict], summary_csv: str | Path, png: str | Path,
                    settings: str = "") -> None:
    """Nakkiran et al. Fig. 2 at the highest noise level: test error over width x epoch as a heatmap (mean
    over seeds), and beside it the test error against epochs of the smallest, threshold and largest width."""
    summary = _read_summary(summary_csv)
    frame = _histories(histories, run_specs)
    p = float(frame["label_noise"].max())
    rows = frame[frame["label_noise"] == p]
    grid = rows.groupby(["width", "epoch"])["test_error"].mean().unstack("epoch").sort_index()
    widths, epochs = list(grid.index), list(grid.columns)
    at_p = summary[summary["label_noise"] == p]
    threshold = at_p["threshold_width"].dropna()
    threshold = int(threshold.iloc[0]) if len(threshold) else None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.6), layout="constrained", width_ratios=(1.15, 1.0))
    try:
        # Cell edges halfway between evaluated epochs (geometric: the x axis is logarithmic).
        e = np.asarray(epochs, dtype=float)
        mids = np.sqrt(e[1:] * e[:-1]) if len(e) > 1 else np.array([])
        x_edges = np.concatenate([[e[0] / (mids[0] / e[0]) if len(mids) else e[0] * 0.8], mids,
                                  [e[-1] * (e[-1] / mids[-1]) if len(mids) else e[-1] * 1.25]])
        y_edges = np.arange(len(widths) + 1) - 0.5
        values = grid.to_numpy(dtype=float)
        # The first epochs' errors (up to 0.9) would take the whole colour range: it spans the 2nd to 98th percentile.
        low, high = np.nanpercentile(values, [2, 98]) if np.isfinite(values).any() else (0.0, 1.0)
        mesh = left.pcolormesh(x_edges, y_edges, values, cmap="magma", shading="flat", vmin=low, vmax=max(high, low + 1e-6))
        left.set_xscale("log")
        left.set_yticks(range(len(widths)), [str(w) for w in widths], fontsize="x-small")
        left.set_xlabel("epoch (log scale)")
        left.set_ylabel("hidden width H" if str(summary["model"].iloc[0]) == "fc" else "width w")
        if threshold in widths:
            left.axhline(widths.index(threshold), color="cyan", linestyle=":", linewidth=1.2)
            left.annotate("interpolation threshold", (x_edges[0], widths.index(threshold)), xytext=(3, 3),
                          textcoords="offset points", color="cyan", fontsize="x-small")
        fig.colorbar(mesh, ax=left, label="test error (clipped to its 2-98th percentiles)", extend="both")
        left.set_title(f"test error, label noise {p:g}", fontsize="medium")

        picked = dict.fromkeys([widths[0], *([threshold] if threshold in widths else []), widths[-1]])
        names = {widths[0]: "smallest", threshold: "threshold", widths[-1]: "largest"}
        cmap = colormaps["plasma"]
        for i, w in enumerate(picked):
            run = rows[rows["width"] == w]
            band = mean_band(run, "epoch", "test_error")
            color = cmap(0.85 * i / max(len(picked) - 1, 1))
            right.plot(band.index, band["mean"], color=color, label=f"{names[w]} width ({w})")
            if band["count"].max() > 1:
                right.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.2, linewidth=0)
        right.set_xscale("log")
        right.set_xlabel("epoch (log scale)")
        right.set_ylabel("test error (fraction misclassified)")
        right.grid(True, alpha=0.3)
        right.set_title("test error over training", fontsize="medium")
        legend_below(right, ncol=3)
        fig.suptitle("Epoch-wise double descent\n" + _settings(summary[summary["label_noise"] == p], settings), fontsize="medium")
        save_figure(fig, png)
    finally:
        plt.close(fig)


def plot(histories: Sequence[str], run_specs: Sequence[dict], summary_csv: str | Path, pngs: dict[str, str],
         settings: str = "") -> None:
    """Both figures; `pngs` maps FIGURES' keys to output paths; `settings` is the line under the titles."""
    plot_model_wise(summary_csv, pngs["model_wise"], settings)
    plot_epoch_wise(histories, run_specs, summary_csv, pngs["epoch_wise"], settings)
