"""Experiment 2, parameters vs generalization: final train and test metrics as conv(w)-dense(w)-10 widens.

config key  params_vs_gen (n_train, widths, lr, batch_size, epochs, eval_*)
runs        width{w}: one width_cnn per width and seed, 676 w^2 + 21 w + 10 parameters
rules       workflow/rules/params_vs_gen.smk (plot_params_vs_gen), shared subset/train/metrics
tables      results/metrics/params_vs_gen.csv (one row per run and seed, with n_params)
claims      test_accuracy_rises, test_accuracy_flattens (from the metrics table)
figures     image/Nbr_para_gen_loss.png, image/Nbr_para_gen_accuracy.png
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import evidence as ev
from ..config import TrainConfig
from ..plots import TRAIN, TEST, figure, line, read_tables, seeds_note
from ..ranks import kendall_tau, spearman_rho
from ._shared import metrics_table, section_config

NAME = "params_vs_gen"
ARCH = "width_cnn"
FIGURES = {"loss": "image/Nbr_para_gen_loss.png", "accuracy": "image/Nbr_para_gen_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return [f"width{w}" for w in section["widths"]]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    return section_config(config, NAME, run, seed, arch=ARCH, width=int(run.removeprefix("width")))


def plot(metrics_csv: str, loss_png: str, accuracy_png: str) -> None:
    """Final train and test loss, and accuracy, against the parameter count (log scale)."""
    rows = read_tables([metrics_csv])
    note = seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "final cross-entropy loss"), ("accuracy", accuracy_png, "final accuracy")):
        with figure(path, "Parameters vs generalization" + note) as ax:
            line(ax, rows, "n_params", f"train_{metric}", "train", TRAIN, marker="o")
            line(ax, rows, "n_params", f"test_{metric}", "test", TEST, marker="o")
            ax.set_xscale("log")
            ax.set_xlabel("number of parameters")
            ax.set_ylabel(ylabel)
            ax.legend()


# ---------------------------------------------------------------- claims

# Spearman's rho of 0.8 allows one or two neighbouring sizes to swap where the curve is flat (seed
# noise on a saturated accuracy) but not a curve without a trend.
RISES_MIN_SPEARMAN = 0.8
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


def judge(metrics: pd.DataFrame, source: str = "params_vs_gen metrics") -> list[dict]:
    """test_accuracy_rises, test_accuracy_flattens: mean test accuracy (over seeds) against n_params.

    Flattening, precisely: with slopes of test accuracy per decade of parameters between
    neighbouring sizes, the steepest slope is positive and the slope between the two largest
    sizes is at most FLATTEN_MAX_LAST_TO_STEEPEST times it: the curve has bent over at the top,
    wherever along the range it rose.
    """
    df = ev.numeric(ev.checked(metrics, METRICS_COLUMNS, source), METRICS_COLUMNS, source)
    n_seeds = df["seed"].nunique()
    curve = df.groupby("n_params")["test_accuracy"].mean().sort_index()
    params, acc = curve.index.to_numpy(dtype=float), curve.to_numpy()
    if len(curve) < MIN_SIZES:
        why = f"cannot be tested: {len(curve)} parameter count(s), at least {MIN_SIZES} needed"
        return [ev.claim(NAME, "test_accuracy_rises", False, why), ev.claim(NAME, "test_accuracy_flattens", False, why)]
    note = ev.seeds_note(n_seeds)

    rho, tau, gain = spearman_rho(params, acc), kendall_tau(params, acc), acc[-1] - acc[0]
    rises = rho >= RISES_MIN_SPEARMAN and gain >= RISES_MIN_GAIN
    out = [ev.claim(NAME, "test_accuracy_rises", rises,
                    f"Spearman rho {ev.signed(rho)} (need >= {ev.acc(RISES_MIN_SPEARMAN)}; Kendall tau {ev.signed(tau)}) "
                    f"over {len(curve)} sizes; test accuracy {ev.acc(acc[0])} at {params[0]:.0f} params -> "
                    f"{ev.acc(acc[-1])} at {params[-1]:.0f}, gain {ev.acc(gain)} (need >= {ev.acc(RISES_MIN_GAIN)}){note}")]

    # Slope of test accuracy per decade of parameters between neighbouring sizes.
    slopes = np.diff(acc) / np.diff(np.log10(params))
    steepest, last = float(slopes.max()), float(slopes[-1])
    at = int(slopes.argmax())
    flattens = steepest > 0 and last <= FLATTEN_MAX_LAST_TO_STEEPEST * steepest
    out.append(ev.claim(NAME, "test_accuracy_flattens", flattens,
                        f"test accuracy slope per decade of params between the two largest sizes {ev.signed(last)} vs "
                        f"the steepest {ev.signed(steepest)} ({params[at]:.0f} -> {params[at + 1]:.0f} params): "
                        f"need a rising curve and the last slope <= {ev.num(FLATTEN_MAX_LAST_TO_STEEPEST)} x the steepest{note}"))
    return out
