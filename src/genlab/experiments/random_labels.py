"""Experiment 1, random labels (Zhang et al. 2017): can the deep CNN memorise labels that carry no information?

config key  random_labels (n_train, lr, batch_size, epochs, eval_*)
claims      memorised, test_at_chance, test_loss_rises (from the histories)
runs        deep: one deep CNN per seed, trained on the subset with its labels permuted
rules       workflow/rules/random_labels.smk (plot_random_labels), shared subset/train/metrics
tables      results/runs/random_labels/deep/seed{k}/history.csv, results/metrics/random_labels.csv
figures     image/Random_label_loss.png, image/Random_label_accuracy.png (per epoch)
"""

from __future__ import annotations

from collections.abc import Sequence

import math

import pandas as pd

from .. import evidence as ev
from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import TEST, TRAIN, figure, legend_below, line, metric_axis, read_tables, seeds_note
from ..stats import claim_interval
from ._shared import history_paths, section_config

NAME = "random_labels"
ARCH = "deep_cnn"
FIGURES = {"loss": "image/Random_label_loss.png", "accuracy": "image/Random_label_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return ["deep"]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    return section_config(config, NAME, run, seed, arch=ARCH, permuted_labels=True)


def plot(histories: Sequence[str], loss_png: str, accuracy_png: str, settings: str = "") -> None:
    """Train (random labels) and test (true labels) loss and accuracy per epoch."""
    rows = read_tables(histories)
    note = seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "cross-entropy loss"), ("accuracy", accuracy_png, "accuracy")):
        with figure(path, "Random labels: " + metric + note, settings=settings) as ax:
            line(ax, rows, "epoch", f"train_{metric}", "train (random labels)", TRAIN)
            line(ax, rows, "epoch", f"test_{metric}", "test (true labels)", TEST)
            if metric == "accuracy":
                ax.axhline(0.1, color="gray", linestyle=":", label="chance")
                ax.set_ylim(0, 1.02)
            ax.set_xlabel("epoch")
            metric_axis(ax, rows, metric, ylabel)
            legend_below(ax)


# ---------------------------------------------------------------- claims

# Zhang et al. fit random labels to 100%; 0.95 leaves room for a few labels a finite run has not
# yet fitted, and rules out partial fitting, which is no evidence of memorisation.
MEMORISED_MIN_TRAIN_ACCURACY = 0.95
# The test loss on true labels grows as the network grows confident in random labels. Chance
# level is ln 10 = 2.3; 1.5 times the lowest value seen is a rise no epoch-to-epoch noise makes.
TEST_LOSS_RISE_MIN_RATIO = 1.5
CLAIM_COLUMNS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed"]
# The sampling error of each measured mean (genlab.columns.SAMPLING_COLUMNS): accuracies are binomial.
NOISE = {"train_accuracy": ("binomial", "n_train_eval"), "test_accuracy": ("binomial", "n_test_eval"),
         "test_loss": "test_loss_se"}


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"histories": history_paths(config, NAME)}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "histories", CLAIM_COLUMNS)
    return judge(*found) if found else []


def _curve(df: pd.DataFrame) -> pd.DataFrame:
    """The mean over seeds at each epoch every seed reached."""
    n_seeds = df["seed"].nunique()
    reached = df.groupby("epoch")["seed"].nunique()
    return df[df["epoch"].isin(reached[reached == n_seeds].index)].groupby("epoch")[CLAIM_COLUMNS[1:5]].mean()


def _final(df: pd.DataFrame, column: str) -> float:
    curve = _curve(df)
    return float(curve[column].iloc[-1]) if len(curve) else math.nan


def _loss_rise(df: pd.DataFrame, lowest_epoch: int) -> float:
    """The final test loss over the one at lowest_epoch (the lowest of the measured curve: fixed, as a
    minimum taken over noisy values would be biased low)."""
    curve = _curve(df)
    return float(curve["test_loss"].iloc[-1] / curve["test_loss"].loc[lowest_epoch]) if lowest_epoch in curve.index else math.nan


def judge(histories: pd.DataFrame, source: str = "random_labels histories") -> list[dict]:
    """memorised, test_at_chance, test_loss_rises, from the per-epoch histories of every seed.

    The curve is the mean over seeds at each epoch all seeds reached; "final" is its last epoch.
    Intervals: over seeds when there are several, else the sampling error of the evaluated examples
    (histories without genlab.columns.SAMPLING_COLUMNS give none: inconclusive).
    """
    df = ev.numeric(ev.checked(histories, CLAIM_COLUMNS, source), CLAIM_COLUMNS, source)
    if df.duplicated(["epoch", "seed"]).any():
        raise GenlabError(f"{source}: an epoch appears twice for one seed")
    curve = _curve(df)
    if curve.empty:
        raise GenlabError(f"{source}: no epoch that every seed reached")
    noise = {k: v for k, v in NOISE.items() if (v[1] if isinstance(v, tuple) else v) in df.columns}
    n_seeds = df["seed"].nunique()

    def interval(statistic):
        if n_seeds < 2 and len(noise) < len(NOISE):
            return math.nan, math.nan
        return claim_interval(df, statistic, noise)

    final, epoch = curve.iloc[-1], int(curve.index[-1])
    note = ev.seeds_note(n_seeds)
    acc = final["train_accuracy"]
    out = [ev.judged(NAME, "memorised", acc, interval(lambda d: _final(d, "train_accuracy")), MEMORISED_MIN_TRAIN_ACCURACY,
                     True, n_seeds, f"final (epoch {epoch}) train accuracy on random labels {ev.acc(acc)} "
                     f"(need >= {ev.acc(MEMORISED_MIN_TRAIN_ACCURACY)}){note}")]

    test = final["test_accuracy"]
    distance = abs(test - ev.CHANCE_ACCURACY)
    out.append(ev.judged(NAME, "test_at_chance", distance,
                         interval(lambda d: abs(_final(d, "test_accuracy") - ev.CHANCE_ACCURACY)), ev.CHANCE_BAND, False,
                         n_seeds, f"final test accuracy {ev.acc(test)}: {ev.acc(distance)} from chance "
                         f"{ev.acc(ev.CHANCE_ACCURACY)} (need within {ev.acc(ev.CHANCE_BAND)}){note}"))

    loss, lowest, lowest_epoch = final["test_loss"], curve["test_loss"].min(), int(curve["test_loss"].idxmin())
    out.append(ev.judged(NAME, "test_loss_rises", loss / lowest, interval(lambda d: _loss_rise(d, lowest_epoch)),
                         TEST_LOSS_RISE_MIN_RATIO, True,
                         n_seeds, f"final test loss {ev.num(loss)} = {ev.num(loss / lowest)} x lowest {ev.num(lowest)} "
                         f"(epoch {lowest_epoch}; need >= {ev.num(TEST_LOSS_RISE_MIN_RATIO)} x){note}"))
    return out
