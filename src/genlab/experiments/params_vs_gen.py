"""Experiment 2, parameters vs generalization: final train and test metrics as conv(w)-dense(w)-10 widens.

config key  params_vs_gen (n_train, widths, lr, batch_size, epochs, eval_*)
runs        width{w}: one width_cnn per width and seed, 676 w^2 + 21 w + 10 parameters
rules       workflow/rules/params_vs_gen.smk (plot_params_vs_gen), shared subset/train/metrics
tables      results/metrics/params_vs_gen.csv (one row per run and seed, with n_params)
claims      test_accuracy_rises, test_accuracy_flattens (from the metrics table)
figures     image/Nbr_para_gen_loss.png, image/Nbr_para_gen_accuracy.png
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import evidence as ev
from ..config import TrainConfig
from ..plots import TEST, TRAIN, figure, legend_below, line, metric_axis, read_tables, seeds_note
from ..stats import claim_interval, combined, verdict
from ._shared import metrics_table, section_config

NAME = "params_vs_gen"
ARCH = "width_cnn"
FIGURES = {"loss": "image/Nbr_para_gen_loss.png", "accuracy": "image/Nbr_para_gen_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return [f"width{w}" for w in section["widths"]]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    return section_config(config, NAME, run, seed, arch=ARCH, width=int(run.removeprefix("width")))


def plot(metrics_csv: str, loss_png: str, accuracy_png: str, settings: str = "") -> None:
    """Final train and test loss, and accuracy, against the parameter count (log scale)."""
    rows = read_tables([metrics_csv])
    note = seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "final cross-entropy loss"), ("accuracy", accuracy_png, "final accuracy")):
        with figure(path, "Parameters vs generalization" + note, settings=settings) as ax:
            line(ax, rows, "n_params", f"train_{metric}", "train", TRAIN, marker="o")
            line(ax, rows, "n_params", f"test_{metric}", "test", TEST, marker="o")
            ax.set_xscale("log")
            ax.set_xlabel("number of parameters")
            metric_axis(ax, rows, metric, ylabel)
            legend_below(ax)


# ---------------------------------------------------------------- claims

# ...and the largest network must beat the smallest by 5 points of accuracy: a rank correlation
# alone is satisfied by a rise of 0.001.
RISES_MIN_GAIN = 0.05
# Flattening: the slope (accuracy per decade of parameters) between the two largest networks is at
# most half the steepest slope between neighbouring sizes. A curve still rising as steeply at the
# top gives 1; half is a clear bend, whichever width the rise happened at.
FLATTEN_MAX_LAST_TO_STEEPEST = 0.5
MIN_SIZES = 3  # a trend and a bend need at least three parameter counts
METRICS_COLUMNS = ["n_params", "test_accuracy", "seed"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"metrics": [metrics_table(NAME)]}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "metrics", METRICS_COLUMNS)
    return judge(*found) if found else []


def _curve(df: pd.DataFrame) -> pd.Series:
    return df.groupby("n_params")["test_accuracy"].mean().sort_index()


def _gain(df: pd.DataFrame) -> float:
    acc = _curve(df).to_numpy()
    return float(acc[-1] - acc[0])


def _bend(df: pd.DataFrame) -> float:
    """The slope per decade of parameters between the two largest sizes over the steepest one (NaN unless rising)."""
    curve = _curve(df)
    slopes = np.diff(curve.to_numpy()) / np.diff(np.log10(curve.index.to_numpy(dtype=float)))
    return float(slopes[-1] / slopes.max()) if slopes.max() > 0 else math.nan


def judge(metrics: pd.DataFrame, source: str = "params_vs_gen metrics") -> list[dict]:
    """test_accuracy_rises, test_accuracy_flattens: mean test accuracy (over seeds) against n_params.

    Rising: the gain from the smallest to the largest network, its interval above RISES_MIN_GAIN,
    and Kendall's tau over the sizes above 0 by its permutation interval. Flattening, precisely:
    with slopes of test accuracy per decade of parameters between neighbouring sizes, the slope
    between the two largest sizes over the steepest one, its interval below
    FLATTEN_MAX_LAST_TO_STEEPEST: the curve has bent over at the top, wherever it rose.
    Intervals: over seeds, or the binomial error of each test accuracy (n_test_eval).
    """
    df = ev.numeric(ev.checked(metrics, METRICS_COLUMNS, source), METRICS_COLUMNS, source)
    n_seeds = df["seed"].nunique()
    curve = _curve(df)
    params, acc = curve.index.to_numpy(dtype=float), curve.to_numpy()
    if len(curve) < MIN_SIZES:
        why = f"{len(curve)} parameter count(s), at least {MIN_SIZES} needed"
        return [ev.untestable(NAME, "test_accuracy_rises", why), ev.untestable(NAME, "test_accuracy_flattens", why)]
    note = ev.seeds_note(n_seeds)
    noise = {"test_accuracy": ("binomial", "n_test_eval")} if "n_test_eval" in df.columns else None

    def interval(statistic):
        return claim_interval(df, statistic, noise) if noise or n_seeds > 1 else (math.nan, math.nan)

    rank = ev.ranked(NAME, "test_accuracy_rises", params, acc, +1, "test accuracy vs parameters", f"{len(curve)} sizes", n_seeds)
    gain = acc[-1] - acc[0]
    low, high = interval(_gain)
    out = [ev.judged(NAME, "test_accuracy_rises", gain, (low, high), RISES_MIN_GAIN, True, n_seeds,
                     f"test accuracy {ev.acc(acc[0])} at {params[0]:.0f} params -> {ev.acc(acc[-1])} at {params[-1]:.0f}, "
                     f"gain {ev.acc(gain)} (need >= {ev.acc(RISES_MIN_GAIN)}); {rank['evidence']}{note}",
                     verdict=combined([verdict(low, high, RISES_MIN_GAIN), rank["verdict"]]))]

    slopes = np.diff(acc) / np.diff(np.log10(params))
    steepest, last = float(slopes.max()), float(slopes[-1])
    at = int(slopes.argmax())
    out.append(ev.judged(NAME, "test_accuracy_flattens", _bend(df), interval(_bend), FLATTEN_MAX_LAST_TO_STEEPEST, False,
                         n_seeds, f"test accuracy slope per decade of params between the two largest sizes {ev.signed(last)} vs "
                         f"the steepest {ev.signed(steepest)} ({params[at]:.0f} -> {params[at + 1]:.0f} params): need the "
                         f"ratio <= {ev.num(FLATTEN_MAX_LAST_TO_STEEPEST)} on a rising curve{note}"))
    return out
