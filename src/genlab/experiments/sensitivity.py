"""Experiment 4, sensitivity (Novak et al. 2018): the input-output Jacobian norm across batch sizes.

config key  sensitivity (n_train, lr, epochs, batch_sizes, n_points, output, eval_*)
runs        batch{b}: one shallow CNN (conv16-dense10) per batch size and seed
rules       workflow/rules/sensitivity.smk (sensitivity_measure, sensitivity_summary, plot_sensitivity)
tables      results/sensitivity/{run}/seed{k}.csv, results/sensitivity/summary.csv:
            batch_size, sensitivity = mean over the first n_points test images of ||d f(x)/dx||_F, final metrics
figures     image/Flatness_vs_gen_p2_sens_acc.png, image/Flatness_vs_gen_p2_sens_loss.png
"""

from __future__ import annotations

import logging

from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import SENS, TRAIN, TEST, figure, line, read_table, seeds_note
from ._shared import check_batch_size, section_config, unknown_run

log = logging.getLogger("genlab")

NAME = "sensitivity"
ARCH = "shallow_cnn"
FIGURES = {"accuracy": "image/Flatness_vs_gen_p2_sens_acc.png", "loss": "image/Flatness_vs_gen_p2_sens_loss.png"}
FINAL_METRICS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
COLUMNS = ["experiment", "run", "seed", "data_seed", "batch_size", "lr", "n_points", "output", "sensitivity", *FINAL_METRICS]


def run_names(section: dict) -> list[str]:
    return [f"batch{b}" for b in section["batch_sizes"]]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    names = run_names(config[NAME])
    if run not in names:
        raise unknown_run(NAME, run, names)
    return section_config(config, NAME, run, seed, arch=ARCH, batch_size=int(run.removeprefix("batch")))


def subset_name(run: str) -> str:
    return NAME


def check(config: dict) -> None:
    for i, b in enumerate(config[NAME]["batch_sizes"]):
        check_batch_size(config, f"{NAME}.batch_sizes.{i}", b, f"{NAME}.n_train")


def sensitivity_job(
    checkpoint: str, planned: dict, data_root: str, out: str, n_points: int, output: str,
    fingerprint: dict, threads: int = 1, device: str = "auto",
) -> dict:
    """Mean per-point Jacobian norm of one checkpoint over the first n_points test images."""
    from ..atomic import write_csv
    from ..checkpoint import load_planned, model_for
    from ..data import load_test_images
    from ..device import configure, pick_device
    from ..measures.sensitivity import sensitivity

    ckpt = load_planned(checkpoint, planned, fingerprint)
    cfg: TrainConfig = ckpt["config"]
    if cfg.experiment != NAME:
        raise GenlabError(f"{checkpoint}: checkpoint has experiment={cfg.experiment!r}, this step needs experiment={NAME!r}")
    dev = pick_device(device)
    configure(threads, dev)
    x = load_test_images(data_root, fingerprint, n_points, key=f"{NAME}.n_points").to(dev)
    value = sensitivity(model_for(ckpt, checkpoint).to(dev), x, output)
    row = {
        "experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed, "data_seed": cfg.data_seed,
        "batch_size": cfg.batch_size, "lr": cfg.lr, "n_points": n_points, "output": output,
        "sensitivity": value, **{k: ckpt["metrics"][k] for k in FINAL_METRICS},
    }
    write_csv(out, [row], COLUMNS)
    log.info("sensitivity %s = %.6g over %d points", cfg.describe(), value, n_points)
    return row


def plot(summary_csv: str, accuracy_png: str, loss_png: str) -> None:
    """Final accuracy (or loss), train and test, with the sensitivity on a twin axis, against batch size."""
    rows = read_table(summary_csv)
    note = seeds_note(rows)
    output = rows["output"].iloc[0] if "output" in rows else "softmax"
    for metric, path, ylabel in (("accuracy", accuracy_png, "final accuracy"), ("loss", loss_png, "final cross-entropy loss")):
        with figure(path, f"Sensitivity and {metric} vs batch size" + note, figsize=(6.8, 4.2)) as ax:
            handles = [
                line(ax, rows, "batch_size", f"train_{metric}", f"train {metric}", TRAIN, marker="o"),
                line(ax, rows, "batch_size", f"test_{metric}", f"test {metric}", TEST, marker="o"),
            ]
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size")
            ax.set_ylabel(ylabel)
            sens = ax.twinx()
            handles.append(line(sens, rows, "batch_size", "sensitivity", f"sensitivity ({output})", SENS, marker="s"))
            sens.set_ylabel(r"sensitivity: mean $\|\partial f/\partial x\|_F$")
            ax.legend(handles=handles, loc="best", fontsize="small")
