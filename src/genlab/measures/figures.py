"""Figures of the flatness measures, drawn from CSVs only (the ranking they show: genlab.measures.ranking).

Inputs: measure CSVs (columns experiment, run, seed, measure, value, n_points, std_error,
steps, converged; one row per checkpoint and measure) and the metrics CSVs of the runs
(experiment, run, seed, ..., batch_size, ..., train_loss, train_accuracy, test_loss,
test_accuracy; one row per run and seed). They are joined on (experiment, run, seed); the
generalization gap is train_accuracy - test_accuracy. With several seeds a line is the
mean over seeds and the band spans their minimum to maximum.

Every legend sits outside the axes (below the panels), so it never covers a point; a y axis
whose positive values span more than a decade is logarithmic (symlog when some are <= 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..atomic import save_figure  # noqa: E402
from ..errors import GenlabError  # noqa: E402
from ..plots import scale_y, titled  # noqa: E402
from . import get, kind_of  # noqa: E402
from .ranking import PathLike, joined, rank, read  # noqa: E402
from .rows import KEY  # noqa: E402

TRAIN, TEST, GAP = "tab:blue", "tab:orange", "tab:red"
GAP_LABEL = "generalization gap (train - test accuracy)"
TRAINED = r"the trained weights $\theta$"  # the landscapes' origin, t = 0
# Readable names of measures whose kind has no LABEL (hessian's names are not "<kind>_<scale>").
FALLBACK_LABELS = {
    "hessian_eig1": "Hessian top eigenvalue",
    "hessian_eig_min": "Hessian smallest eigenvalue",
    "hessian_trace": "Hessian trace",
    "sensitivity": r"input sensitivity, mean $\|\partial f/\partial x\|_F$",  # experiment 4's own measure
}


def measure_label(name: str) -> str:
    """A measure's name made readable: its kind's LABEL (a template of the suffix after "<kind>_"),
    else FALLBACK_LABELS, else the name with spaces ("hessian_eig2" -> "Hessian eigenvalue 2")."""
    kind = kind_of(name)
    template = getattr(get(kind), "LABEL", None) if kind else None
    if template:
        return template.format(suffix=name[len(kind) + 1:])
    if name in FALLBACK_LABELS:
        return FALLBACK_LABELS[name]
    eig = re.fullmatch(r"hessian_eig(\d+)", name)
    return f"Hessian eigenvalue {eig[1]}" if eig else name.replace("_", " ")


def legend_below(fig, handles: Sequence, ncols: int | None = None) -> None:
    """One legend for the figure, under its panels (constrained layout keeps room for it)."""
    unique = {}
    for handle in handles:
        unique.setdefault(handle.get_label(), handle)  # the same entry from several panels once
    ncols = ncols or min(len(unique), 4)
    fig.legend(list(unique.values()), list(unique), loc="outside lower center", ncols=ncols, fontsize="small")


def _grid(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def _number(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def tau_title(rank_row: Mapping) -> str:
    """"tau = 0.48 [0.10, 0.79], n = 15 (9 runs)", and on a second line why it is not a predictor, unless it is one."""
    tau, low, high = rank_row["kendall_tau"], rank_row["tau_ci_low"], rank_row["tau_ci_high"]
    n, runs = int(rank_row["n_checkpoints"]), int(rank_row["n_runs"])
    text = f"$\\tau$ = {_number(tau)} [{_number(low)}, {_number(high)}], n = {n} ({runs} run{'s' * (runs != 1)})"
    if rank_row.get("n_unconverged"):
        text += f", {int(rank_row['n_unconverged'])} not converged"
    if rank_row["predictor"]:
        return text
    contains_zero = math.isnan(low) or math.isnan(high) or low <= 0 <= high
    why = "interval contains 0" if contains_zero else "$|\\tau|$ within chance"  # see genlab.measures.ranking
    return f"{text}\n({why}: not a predictor)"


def plot_measures_vs_generalization(
    measures_csv: PathLike | Sequence[PathLike], metrics_csvs: Sequence[PathLike], png: PathLike, settings: str = ""
) -> None:
    """One scatter panel per measure (ranking order): x = gap, y = value, titled with the measure's
    readable name over its tau and interval; `settings` goes under the figure's title."""
    rows = joined(measures_csv, metrics_csvs)
    order = rank(rows)
    if order.empty:
        raise GenlabError("no checkpoint has both a measure and metrics to plot")
    nrows, ncols = _grid(len(order))
    size = (3.9 * ncols, 3.3 * nrows + 0.8)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, layout="constrained")
    experiments = sorted(rows["experiment"].unique())
    colors = {e: f"C{i}" for i, e in enumerate(experiments)}
    handles = []
    for ax, (_, rank_row) in zip(axes.flat, order.iterrows()):
        group = rows[rows["measure"] == rank_row["measure"]]
        for experiment, points in group.groupby("experiment"):
            handles.append(ax.scatter(points["gap"], points["value"], s=14, color=colors[experiment], label=experiment))
        note = scale_y(ax, group["value"])
        name = measure_label(rank_row["measure"])
        ax.set_title(f"{name}\n{tau_title(rank_row)}", fontsize="small", color="black" if rank_row["predictor"] else "dimgray")
        ax.set_xlabel(GAP_LABEL, fontsize="small")
        # The scale on a line of its own: a panel is too short for a long name and its scale on one.
        ax.set_ylabel(f"{name}\n{note.removeprefix(', ')}" if note else name, fontsize="small")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    legend_below(fig, sorted(handles, key=lambda h: experiments.index(h.get_label())))
    title = "Flatness measures vs generalization gap\nKendall $\\tau$ [95 % bootstrap interval over checkpoints]"
    fig.suptitle(titled(title, settings))
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
    settings: str = "",
) -> None:
    """Measures against a hyperparameter `x` (a metrics column, e.g. batch_size) swept by one experiment.

    One panel per measure of measure_names that has rows for sweep_experiment (at least one
    must); the generalization gap on a twin axis; x on a log axis of log_base (None: linear).
    marked: {experiment: {run: matplotlib marker}}, runs of other experiments drawn as black
    markers at their own x (e.g. two solutions trained at different batch sizes).
    """
    found = joined(measures_csv, metrics_csvs)
    if x not in found.columns:
        raise GenlabError(f"metrics CSVs have no column {x!r}")
    sweep = found[found["experiment"] == sweep_experiment]
    names = [m for m in measure_names if m in set(sweep["measure"])]
    if not names:
        raise GenlabError(f"measure {', '.join(map(repr, measure_names))} has no row for experiment {sweep_experiment}")
    x_label = x_label or x.replace("_", " ")
    fig, axes = plt.subplots(1, len(names), figsize=(5.0 * len(names), 4.6), squeeze=False, layout="constrained")
    handles = []
    for ax, name in zip(axes.flat, names):
        rows = sweep[sweep["measure"] == name]
        handles.append(_band(ax, rows, x, "value", TRAIN, f"{sweep_experiment} runs"))
        values = list(rows["value"])
        for experiment, markers in (marked or {}).items():
            for run, marker in markers.items():
                end = found[(found["experiment"] == experiment) & (found["run"] == run) & (found["measure"] == name)]
                if len(end):
                    stats = end.groupby(x)["value"].mean()
                    at = ", ".join(f"{v:g}" for v in stats.index)
                    values += list(stats.values)
                    handles.append(
                        ax.scatter(stats.index, stats.values, marker=marker, s=90, color="black", zorder=3,
                                   label=f"{experiment} {run} ({x_label} {at})")
                    )
        note = scale_y(ax, values)  # a marked run far above the sweep would flatten it on a linear axis
        if log_base:
            ax.set_xscale("log", base=log_base)
        ax.set_xlabel(x_label + (f" (log{log_base} scale)" if log_base else ""))
        ax.set_ylabel(measure_label(name) + note, color=TRAIN)
        gap_axis = ax.twinx()
        ax.set_zorder(gap_axis.get_zorder() + 1)  # the measure and the marked runs above the gap line
        ax.patch.set_visible(False)  # ... without hiding it
        runs = rows.drop_duplicates(KEY)
        handles.append(_band(gap_axis, runs, x, "gap", GAP, f"{sweep_experiment}: {GAP_LABEL}", marker="s"))
        gap_axis.set_ylabel("generalization gap", color=GAP)
        ax.set_title(measure_label(name), fontsize="medium")
        ax.grid(True, alpha=0.3)
    seeds = sweep["seed"].nunique()
    title = title or f"Measures vs {x_label}"
    fig.suptitle(titled(title + (f" (mean and min-max over {seeds} seeds)" if seeds > 1 else ""), settings))
    legend_below(fig, handles, ncols=2)
    save_figure(fig, png)
    plt.close(fig)


def _landscape(csvs: Mapping[str, PathLike], columns: Sequence[str]) -> dict[str, pd.DataFrame]:
    if not csvs:
        raise GenlabError("no landscape CSV given")
    frames = {}
    for label, path in csvs.items():
        frame = read(path, columns)
        if frame.empty:
            raise GenlabError(f"{path} has no landscape rows")
        frames[label] = frame
    return frames


def plot_landscape_1d(csvs: Mapping[str, PathLike], png: PathLike, settings: str = "") -> None:
    """Loss (left) and accuracy (right) along t for every label: train solid, test dashed; t = 0,
    the trained weights, a dotted line."""
    frames = _landscape(csvs, ["t", "train_loss", "train_accuracy", "test_loss", "test_accuracy"])
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11.0, 4.8), layout="constrained")
    for i, (label, frame) in enumerate(frames.items()):
        for split, style in (("train", "-"), ("test", "--")):
            for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
                line = _band(ax, frame, "t", f"{split}_{metric}", f"C{i}", f"{label} {split}", marker="")
                line.set_linestyle(style)
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("cross-entropy loss (log scale)")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_ylim(0, 1.02)
    curves = list(loss_ax.get_lines())
    for ax in (loss_ax, acc_ax):
        origin = ax.axvline(0.0, color="gray", linestyle=":", linewidth=0.8, label=f"$t$ = 0: {TRAINED}")
        ax.set_xlabel(r"$t$   ($\theta + t\,d$, $d$ filter-normalised)")
        ax.grid(True, alpha=0.3)
    fig.suptitle(titled("Loss landscape along a random filter-normalised direction", settings))
    legend_below(fig, [*curves, origin], ncols=len(frames) + 1)  # a column per label (its train, its test), then t = 0
    save_figure(fig, png)
    plt.close(fig)


def _levels(values: np.ndarray, n: int = 15) -> np.ndarray:
    """Shared contour levels: log-spaced when all losses are positive (the minimum's detail)."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if not hi > lo:
        return np.array([lo - 0.5, lo, lo + 0.5]) if lo == 0 else np.array([lo * 0.5, lo, lo * 1.5 + 1e-12])
    return np.geomspace(lo, hi, n) if lo > 0 else np.linspace(lo, hi, n)


def plot_landscape_2d(csvs: Mapping[str, PathLike], png: PathLike, settings: str = "") -> None:
    """Contours of train (top) and test (bottom) loss over (t1, t2), one column per label, same levels;
    the legend says what the "+" and the levels are."""
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
            ax.plot([0], [0], marker="+", markersize=10, color="black", linestyle="", label=f"+ = {TRAINED} (origin)")
            ax.set_title(f"{label}: {split} loss", fontsize="small")
            ax.set_xlabel("$t_1$")
            ax.set_ylabel("$t_2$")
    spacing = "log-spaced" if norm else "evenly spaced"
    label = f"cross-entropy loss (contour levels {spacing}, same in every panel)"
    fig.colorbar(contour, ax=axes.ravel().tolist(), ticks=levels, format="%.3g", label=label)
    fig.suptitle(titled("Loss landscape in two filter-normalised directions", settings))
    levels_key = matplotlib.lines.Line2D([], [], color="tab:green", label=f"contour lines: levels {spacing} in loss (colour bar)")
    legend_below(fig, [*axes[0, 0].get_lines(), levels_key], ncols=2)
    save_figure(fig, png)
    plt.close(fig)
