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

import pandas as pd

from .. import evidence as ev
from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import TRAIN, TEST, figure, line, read_tables, seeds_note
from ._shared import history_paths, section_config

NAME = "random_labels"
ARCH = "deep_cnn"
FIGURES = {"loss": "image/Random_label_loss.png", "accuracy": "image/Random_label_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return ["deep"]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    return section_config(config, NAME, run, seed, arch=ARCH, permuted_labels=True)


def plot(histories: Sequence[str], loss_png: str, accuracy_png: str) -> None:
    """Train (random labels) and test (true labels) loss and accuracy per epoch."""
    rows = read_tables(histories)
    note = seeds_note(rows)
    for metric, path, ylabel in (("loss", loss_png, "cross-entropy loss"), ("accuracy", accuracy_png, "accuracy")):
        with figure(path, "Random labels: " + metric + note) as ax:
            line(ax, rows, "epoch", f"train_{metric}", "train (random labels)", TRAIN)
            line(ax, rows, "epoch", f"test_{metric}", "test (true labels)", TEST)
            if metric == "accuracy":
                ax.axhline(0.1, color="gray", linestyle=":", label="chance")
                ax.set_ylim(0, 1.02)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            ax.legend()


# ---------------------------------------------------------------- claims

# Zhang et al. fit random labels to 100%; 0.95 leaves room for a few labels a finite run has not
# yet fitted, and rules out partial fitting, which is no evidence of memorisation.
MEMORISED_MIN_TRAIN_ACCURACY = 0.95
# The test loss on true labels grows as the network grows confident in random labels. Chance
# level is ln 10 = 2.3; 1.5 times the lowest value seen is a rise no epoch-to-epoch noise makes.
TEST_LOSS_RISE_MIN_RATIO = 1.5
HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"histories": history_paths(config, NAME)}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "histories", HISTORY_COLUMNS)
    return judge(*found) if found else []


def judge(histories: pd.DataFrame, source: str = "random_labels histories") -> list[dict]:
    """memorised, test_at_chance, test_loss_rises, from the per-epoch histories of every seed.

    The curve is the mean over seeds at each epoch all seeds reached; "final" is its last epoch.
    """
    df = ev.numeric(ev.checked(histories, HISTORY_COLUMNS, source), HISTORY_COLUMNS, source)
    if df.duplicated(["epoch", "seed"]).any():
        raise GenlabError(f"{source}: an epoch appears twice for one seed")
    n_seeds = df["seed"].nunique()
    reached = df.groupby("epoch")["seed"].nunique()
    curve = df[df["epoch"].isin(reached[reached == n_seeds].index)].groupby("epoch")[HISTORY_COLUMNS[1:5]].mean()
    if curve.empty:
        raise GenlabError(f"{source}: no epoch that every seed reached")
    final, epoch = curve.iloc[-1], int(curve.index[-1])
    note = ev.seeds_note(n_seeds)

    acc = final["train_accuracy"]
    memorised = acc >= MEMORISED_MIN_TRAIN_ACCURACY
    out = [ev.claim(NAME, "memorised", memorised,
                    f"final (epoch {epoch}) train accuracy on random labels {ev.acc(acc)} "
                    f"{'>=' if memorised else '<'} {ev.acc(MEMORISED_MIN_TRAIN_ACCURACY)}{note}")]

    test = final["test_accuracy"]
    at_chance = abs(test - ev.CHANCE_ACCURACY) <= ev.CHANCE_BAND
    out.append(ev.claim(NAME, "test_at_chance", at_chance,
                        f"final test accuracy {ev.acc(test)} {'within' if at_chance else 'outside'} "
                        f"{ev.acc(ev.CHANCE_ACCURACY)} +/- {ev.acc(ev.CHANCE_BAND)}{note}"))

    loss, lowest, lowest_epoch = final["test_loss"], curve["test_loss"].min(), int(curve["test_loss"].idxmin())
    rises = loss >= TEST_LOSS_RISE_MIN_RATIO * lowest
    out.append(ev.claim(NAME, "test_loss_rises", rises,
                        f"final test loss {ev.num(loss)} {'>=' if rises else '<'} {ev.num(TEST_LOSS_RISE_MIN_RATIO)} x "
                        f"lowest {ev.num(lowest)} (epoch {lowest_epoch}){note}"))
    return out
