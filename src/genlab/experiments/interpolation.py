"""Experiment 3, flatness by interpolation (Keskar et al. 2017): the line between a large-batch and a small-batch solution.

config key  interpolation (n_train, epochs, solution_a, solution_b, alpha, alpha_eval_*, eval_*)
runs        A (solution_a, large batch) and B (solution_b, small batch), deep CNN, per seed
rules       workflow/rules/interpolation.smk (interpolate, plot_interpolation), shared subset/train/metrics
tables      results/interpolation/seed{k}.csv: loss and accuracy at each alpha, theta = (1-a) theta_A + a theta_B
figures     image/Flatness_vs_gen_p1_inter.png
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import TRAIN, TEST, figure, line, read_tables, seeds_note
from ._shared import check_batch_size, section_config, unknown_run

log = logging.getLogger("genlab")

NAME = "interpolation"
ARCH = "deep_cnn"
FIGURES = {"interpolation": "image/Flatness_vs_gen_p1_inter.png"}
SOLUTIONS = {"A": "solution_a", "B": "solution_b"}
COLUMNS = ["alpha", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed_a", "seed_b"]
MAX_ALPHAS = 10_001  # more is a typo in the step, and costs seconds of parsing on every call


def run_names(section: dict) -> list[str]:
    return list(SOLUTIONS)


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    if run not in SOLUTIONS:
        raise unknown_run(NAME, run, run_names(config[NAME]))
    solution = config[NAME][SOLUTIONS[run]]
    epochs = solution.get("epochs") or config[NAME]["epochs"]  # a small batch converges in fewer epochs
    return section_config(
        config, NAME, run, seed, arch=ARCH, lr=float(solution["lr"]), batch_size=int(solution["batch_size"]), epochs=int(epochs)
    )


def subset_name(run: str) -> str:
    return NAME


def alphas(config: dict) -> list[float]:
    """start, start+step, ..., stop (inclusive), rounded to kill float drift; the step must divide the range."""
    spec = config[NAME]["alpha"]
    start, stop, step = spec["start"], spec["stop"], spec["step"]
    if stop <= start:
        raise GenlabError(f"config key {NAME}.alpha: stop ({stop}) must be greater than start ({start})")
    count = (stop - start) / step
    if count + 1 > MAX_ALPHAS:
        raise GenlabError(f"config key {NAME}.alpha.step: {step} gives {int(count) + 1} points, at most {MAX_ALPHAS} allowed")
    if abs(count - round(count)) * step > 1e-9:
        raise GenlabError(
            f"config key {NAME}.alpha.step: {step} does not divide [{start}, {stop}] (it would miss stop, and possibly 0 and 1)"
        )
    return [round(start + i * step, 10) for i in range(int(round(count)) + 1)]


def check(config: dict) -> None:
    alphas(config)
    for run, key in SOLUTIONS.items():
        check_batch_size(config, f"{NAME}.{key}.batch_size", config[NAME][key]["batch_size"], f"{NAME}.n_train")


def interpolation_job(
    checkpoint_a: str, checkpoint_b: str, planned_a: dict, planned_b: dict, subset_path: str, data_root: str,
    out: str, alphas: list[float], eval_train_size: int | None, eval_test_size: int | None,
    fingerprint: dict, threads: int = 1, device: str = "auto", batch_size: int = 1000,
) -> list[dict]:
    """Loss and accuracy along the line from A to B, on fixed evaluation subsets."""
    from ..atomic import write_csv
    from ..checkpoint import load_planned, model_for
    from ..data import load_job_data
    from ..device import configure, pick_device
    from ..measures.interpolation import interpolation_curve

    a = load_planned(checkpoint_a, planned_a, fingerprint)
    b = load_planned(checkpoint_b, planned_b, fingerprint)
    cfg_a, cfg_b = a["config"], b["config"]
    if (cfg_a.arch, cfg_a.width) != (cfg_b.arch, cfg_b.width):
        raise GenlabError(
            f"{checkpoint_b}: architecture {cfg_b.arch}/{cfg_b.width} cannot be interpolated with {checkpoint_a} ({cfg_a.arch}/{cfg_a.width})"
        )
    dev = pick_device(device)
    configure(threads, dev)
    data = load_job_data(subset_path, cfg_a, data_root, fingerprint, dev, n_test=eval_test_size).head(eval_train_size, None)
    rows = interpolation_curve(model_for(a, checkpoint_a), a["state_dict"], b["state_dict"], alphas, data, batch_size)
    for row in rows:
        row["seed_a"], row["seed_b"] = cfg_a.seed, cfg_b.seed
    write_csv(out, rows, COLUMNS)
    log.info("%d alphas from %s to %s -> %s", len(rows), checkpoint_a, checkpoint_b, out)
    return rows


def plot(csvs: Sequence[str], png: str) -> None:
    """Loss (log scale) and accuracy (dashed, twin axis) along alpha, train and test."""
    rows = read_tables(csvs)
    with figure(png, "Flatness: interpolation between two solutions" + seeds_note(rows, "seed_a"), figsize=(7.0, 4.4)) as ax:
        handles = [
            line(ax, rows, "alpha", "train_loss", "train loss", TRAIN),
            line(ax, rows, "alpha", "test_loss", "test loss", TEST),
        ]
        ax.set_yscale("log")
        ax.set_xlabel(r"$\alpha$   ($\theta = (1-\alpha)\,\theta_A + \alpha\,\theta_B$; A: large batch, B: small batch)")
        ax.set_ylabel("cross-entropy loss (log scale)")
        acc = ax.twinx()
        handles += [
            line(acc, rows, "alpha", "train_accuracy", "train accuracy", TRAIN, linestyle="--"),
            line(acc, rows, "alpha", "test_accuracy", "test accuracy", TEST, linestyle="--"),
        ]
        acc.set_ylabel("accuracy (dashed)")
        acc.set_ylim(0, 1.02)
        # Below the axes: the curves fill the whole frame at both ends.
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize="small", ncol=4)
