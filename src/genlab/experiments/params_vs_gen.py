"""Experiment 2, parameters vs generalization: final train and test metrics as conv(w)-dense(w)-10 widens.

config key  params_vs_gen (n_train, widths, lr, batch_size, epochs, eval_*)
runs        width{w}: one width_cnn per width and seed, 676 w^2 + 21 w + 10 parameters
rules       workflow/rules/params_vs_gen.smk (plot_params_vs_gen), shared subset/train/metrics
tables      results/metrics/params_vs_gen.csv (one row per run and seed, with n_params)
figures     image/Nbr_para_gen_loss.png, image/Nbr_para_gen_accuracy.png
"""

from __future__ import annotations

from ..config import TrainConfig
from ..plots import TRAIN, TEST, figure, line, read_tables, seeds_note
from ._shared import check_batch_size, section_config, unknown_run

NAME = "params_vs_gen"
ARCH = "width_cnn"
FIGURES = {"loss": "image/Nbr_para_gen_loss.png", "accuracy": "image/Nbr_para_gen_accuracy.png"}


def run_names(section: dict) -> list[str]:
    return [f"width{w}" for w in section["widths"]]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    names = run_names(config[NAME])
    if run not in names:
        raise unknown_run(NAME, run, names)
    return section_config(config, NAME, run, seed, arch=ARCH, width=int(run.removeprefix("width")))


def subset_name(run: str) -> str:
    return NAME


def check(config: dict) -> None:
    check_batch_size(config, f"{NAME}.batch_size", config[NAME]["batch_size"], f"{NAME}.n_train")


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
