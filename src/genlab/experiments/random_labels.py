"""Experiment 1, random labels (Zhang et al. 2017): can the deep CNN memorise labels that carry no information?

config key  random_labels (n_train, lr, batch_size, epochs, eval_*)
runs        deep: one deep CNN per seed, trained on the subset with its labels permuted
rules       workflow/rules/random_labels.smk (plot_random_labels), shared subset/train/metrics
tables      results/runs/random_labels/deep/seed{k}/history.csv, results/metrics/random_labels.csv
figures     image/Random_label_loss.png, image/Random_label_accuracy.png (per epoch)
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import TrainConfig
from ..plots import TRAIN, TEST, figure, line, read_tables, seeds_note
from ._shared import check_batch_size, section_config, unknown_run

NAME = "random_labels"
ARCH = "deep_cnn"
FIGURES = {"loss": "image/Random_label_loss.png", "accuracy": "image/Random_label_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return ["deep"]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    if run not in run_names(config[NAME]):
        raise unknown_run(NAME, run, run_names(config[NAME]))
    return section_config(config, NAME, run, seed, arch=ARCH, random_labels=True)


def subset_name(run: str) -> str:
    return NAME


def check(config: dict) -> None:
    check_batch_size(config, f"{NAME}.batch_size", config[NAME]["batch_size"], f"{NAME}.n_train")


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
