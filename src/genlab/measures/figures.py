"""Figures and rankings of the flatness measures, drawn from CSVs only.

Inputs: measure CSVs (columns experiment, run, seed, measure, value, n_points, std_error,
steps, converged; one row per checkpoint and measure) and the metrics CSVs of the runs
(experiment, run, seed, ..., batch_size, ..., train_loss, train_accuracy, test_loss,
test_accuracy; one row per run and seed). They are joined on (experiment, run, seed); the
generalization gap is train_accuracy - test_accuracy. With several seeds a line is the
mean over seeds and the band spans their minimum to maximum.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..atomic import save_figure  # noqa: E402
from ..errors import GenlabError  # noqa: E402
from ..plots import read_table  # noqa: E402
from ..ranks import kendall_tau  # noqa: E402
from .rows import KEY, MEASURE_COLUMNS  # noqa: E402

METRIC_COLUMNS = [*KEY, "train_accuracy", "test_accuracy"]
TRAIN, TEST, GAP = "tab:blue", "tab:orange", "tab:red"

PathLike = str | os.PathLike


def _paths(paths: PathLike | Sequence[PathLike]) -> list[PathLike]:
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


def _read(paths: PathLike | Sequence[PathLike], columns: Sequence[str]) -> pd.DataFrame:
    frames = [read_table(path, columns) for path in _paths(paths)]
    if not frames:
        raise GenlabError("no CSV given")
    return pd.concat(frames, ignore_index=True)


PER_LAYER_PREFIX = "hessian_trace_layer"


def _joined(measures_csv, metrics_csvs) -> pd.DataFrame:
    """Measure rows with the run's gap (and batch_size when the metrics have it)."""
    measures = _read(measures_csv, MEASURE_COLUMNS)
    metrics = _read(metrics_csvs, METRIC_COLUMNS)
    if measures.empty:
        raise GenlabError(f"no measure rows in {', '.join(map(str, _paths(measures_csv)))}")
    duplicated = metrics.duplicated(KEY)
    if duplicated.any():
        row = metrics[duplicated].iloc[0]
        raise GenlabError(
            f"metrics have several rows for experiment={row['experiment']} run={row['run']} seed={row['seed']}"
        )
    metrics = metrics.assign(gap=metrics["train_accuracy"] - metrics["test_accuracy"])
    keep = [*KEY, "gap"] + (["batch_size"] if "batch_size" in metrics.columns else [])
    joined = measures[[*KEY, "measure", "value"]].merge(metrics[keep], on=KEY, how="inner")
    # A per-layer trace ("layer3") names different layers in different architectures: it is
    # kept in the table, but ranking it across all checkpoints would compare unlike things.
    comparable = ~joined["measure"].str.startswith(PER_LAYER_PREFIX)
    return joined[comparable & np.isfinite(joined["value"]) & np.isfinite(joined["gap"])]


def _rank_key(row: dict) -> tuple:
    tau = row["kendall_tau"]
    return (math.isnan(tau), 0.0 if math.isnan(tau) else -abs(tau), row["measure"])


def ranking(measures_csv: PathLike | Sequence[PathLike], metrics_csvs: Sequence[PathLike]) -> pd.DataFrame:
    """Columns measure, kendall_tau, n_checkpoints: how well each measure orders the gaps.

    Over all checkpoints having both the measure and the metrics (finite values), Kendall's
    tau-b between the measure and train_accuracy - test_accuracy. Sorted by |tau|
    descending (NaN last), then by measure name.
    """
    joined = _joined(measures_csv, metrics_csvs)
    rows = []
    for measure, group in joined.groupby("measure", sort=True):
        tau = kendall_tau(group["value"].to_numpy(), group["gap"].to_numpy())
        rows.append({"measure": measure, "kendall_tau": tau, "n_checkpoints": len(group)})
    rows.sort(key=_rank_key)
    return pd.DataFrame(rows, columns=["measure", "kendall_tau", "n_checkpoints"])


def _grid(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def plot_measures_vs_generalization(
    measures_csv: PathLike | Sequence[PathLike], metrics_csvs: Sequence[PathLike], png: PathLike
) -> None:
    """One scatter panel per measure (ranking order): x = gap, y = value, title with tau."""
    joined = _joined(measures_csv, metrics_csvs)
    order = ranking(measures_csv, metrics_csvs)
    if order.empty:
        raise GenlabError("no checkpoint has both a measure and metrics to plot")
    nrows, ncols = _grid(len(order))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), squeeze=False)
    experiments = sorted(joined["experiment"].unique())
    colors = {e: f"C{i}" for i, e in enumerate(experiments)}
    for ax, (_, rank) in zip(axes.flat, order.iterrows()):
        group = joined[joined["measure"] == rank["measure"]]
        for experiment, points in group.groupby("experiment"):
            ax.scatter(points["gap"], points["value"], s=14, color=colors[experiment], label=experiment)
        tau, n = rank["kendall_tau"], rank["n_checkpoints"]
        ax.set_title(f"{rank['measure']}\nKendall $\\tau$ = {tau:.2f} (n={n})", fontsize="small")
        ax.set_xlabel("generalization gap (train - test accuracy)", fontsize="small")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize="x-small")
    fig.suptitle("Flatness measures vs generalization gap")
    fig.tight_layout()
    save_figure(fig, png)
    plt.close(fig)


def _band(ax, frame: pd.DataFrame, x: str, y: str, color: str, label: str, marker: str = "o"):
    """Mean over seeds with a min-max band; returns the line."""
    stats = frame.groupby(x)[y].agg(["mean", "min", "max", "count"]).sort_index()
    (line,) = ax.plot(stats.index, stats["mean"], color=color, marker=marker, markersize=4, label=label)
    if (stats["count"] > 1).any():
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2, linewidth=0)
    return line


def plot_measure_sweep(
    measures_csv: PathLike | Sequence[PathLike],
    metrics_csvs: Sequence[PathLike],
    png: PathLike,
    sweep_experiment: str,
    x: str,
    measure_names: Sequence[str],
    marked: Mapping[str, Mapping[str, str]] | None = None,
    log_base: int | None = 2,
    x_label: str | None = None,
    title: str | None = None,
) -> None:
    """Measures against a hyperparameter `x` (a metrics column, e.g. batch_size) swept by one experiment.

    One panel per measure of measure_names that has rows for sweep_experiment (at least one
    must); the generalization gap on a twin axis; x on a log axis of log_base (None: linear).
    marked: {experiment: {run: matplotlib marker}}, runs of other experiments drawn as black
    markers at their own x (e.g. two solutions trained at different batch sizes).
    """
    joined = _joined(measures_csv, metrics_csvs)
    if x not in joined.columns:
        raise GenlabError(f"metrics CSVs have no column {x!r}")
    sweep = joined[joined["experiment"] == sweep_experiment]
    names = [m for m in measure_names if m in set(sweep["measure"])]
    if not names:
        raise GenlabError(f"measure {', '.join(map(repr, measure_names))} has no row for experiment {sweep_experiment}")
    x_label = x_label or x.replace("_", " ")
    fig, axes = plt.subplots(1, len(names), figsize=(5.0 * len(names), 4.0), squeeze=False)
    for ax, name in zip(axes.flat, names):
        rows = sweep[sweep["measure"] == name]
        handles = [_band(ax, rows, x, "value", TRAIN, name)]
        for experiment, markers in (marked or {}).items():
            for run, marker in markers.items():
                end = joined[(joined["experiment"] == experiment) & (joined["run"] == run) & (joined["measure"] == name)]
                if len(end):
                    stats = end.groupby(x)["value"].mean()
                    at = ", ".join(f"{v:g}" for v in stats.index)
                    handles.append(
                        ax.scatter(stats.index, stats.values, marker=marker, s=90, color="black", zorder=3,
                                   label=f"{experiment} {run} ({x_label} {at})")
                    )
        if log_base:
            ax.set_xscale("log", base=log_base)
        ax.set_xlabel(x_label)
        ax.set_ylabel(name)
        gap_axis = ax.twinx()
        runs = rows.drop_duplicates(KEY)
        handles.append(_band(gap_axis, runs, x, "gap", GAP, "gap (train - test acc.)", marker="s"))
        gap_axis.set_ylabel("generalization gap", color=GAP)
        ax.legend(handles=handles, fontsize="x-small", loc="best")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
    seeds = sweep["seed"].nunique()
    title = title or f"Measures vs {x_label}"
    fig.suptitle(title + (f" (mean and min-max over {seeds} seeds)" if seeds > 1 else ""))
    fig.tight_layout()
    save_figure(fig, png)
    plt.close(fig)


def _landscape(csvs: Mapping[str, PathLike], columns: Sequence[str]) -> dict[str, pd.DataFrame]:
    if not csvs:
        raise GenlabError("no landscape CSV given")
    frames = {}
    for label, path in csvs.items():
        frame = _read(path, columns)
        if frame.empty:
            raise GenlabError(f"{path} has no landscape rows")
        frames[label] = frame
    return frames


def plot_landscape_1d(csvs: Mapping[str, PathLike], png: PathLike) -> None:
    """Loss (left) and accuracy (right) along t for every label: train solid, test dashed."""
    frames = _landscape(csvs, ["t", "train_loss", "train_accuracy", "test_loss", "test_accuracy"])
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    for i, (label, frame) in enumerate(frames.items()):
        for split, style in (("train", "-"), ("test", "--")):
            for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
                line = _band(ax, frame, "t", f"{split}_{metric}", f"C{i}", f"{label} {split}", marker="")
                line.set_linestyle(style)
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("cross-entropy loss (log scale)")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_ylim(0, 1.02)
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel(r"$t$   ($\theta + t\,d$, $d$ filter-normalised)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("Loss landscape along a random filter-normalised direction")
    fig.tight_layout()
    save_figure(fig, png)
    plt.close(fig)


def _levels(values: np.ndarray, n: int = 15) -> np.ndarray:
    """Shared contour levels: log-spaced when all losses are positive (the minimum's detail)."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if not hi > lo:
        return np.array([lo - 0.5, lo, lo + 0.5]) if lo == 0 else np.array([lo * 0.5, lo, lo * 1.5 + 1e-12])
    return np.geomspace(lo, hi, n) if lo > 0 else np.linspace(lo, hi, n)


def plot_landscape_2d(csvs: Mapping[str, PathLike], png: PathLike) -> None:
    """Contours of train (top) and test (bottom) loss over (t1, t2), one column per label, same levels."""
    frames = _landscape(csvs, ["t1", "t2", "train_loss", "test_loss"])
    grids = {}
    for label, frame in frames.items():
        for split in ("train", "test"):
            grid = frame.pivot_table(index="t2", columns="t1", values=f"{split}_loss", aggfunc="mean")  # (t2, t1)
            if grid.shape[0] < 2 or grid.shape[1] < 2 or grid.isna().any().any():
                raise GenlabError(f"{csvs[label]} is not a complete grid of at least 2 x 2 (t1, t2) points")
            grids[label, split] = grid
    levels = _levels(np.concatenate([g.to_numpy().ravel() for g in grids.values()]))
    norm = matplotlib.colors.LogNorm(levels[0], levels[-1]) if levels[0] > 0 else None
    size = (4.4 * len(frames) + 1.0, 8.0)
    fig, axes = plt.subplots(2, len(frames), figsize=size, squeeze=False, layout="constrained")
    contour = None
    for col, label in enumerate(frames):
        for row, split in enumerate(("train", "test")):
            ax, grid = axes[row, col], grids[label, split]
            contour = ax.contour(grid.columns, grid.index, grid.to_numpy(), levels=levels, norm=norm, cmap="viridis")
            ax.plot([0], [0], marker="+", color="black")
            ax.set_title(f"{label}: {split} loss", fontsize="small")
            ax.set_xlabel("$t_1$")
            ax.set_ylabel("$t_2$")
    label = "cross-entropy loss (same levels in every panel)"
    fig.colorbar(contour, ax=axes.ravel().tolist(), ticks=levels, format="%.3g", label=label)
    fig.suptitle("Loss landscape in two filter-normalised directions")
    save_figure(fig, png)
    plt.close(fig)
