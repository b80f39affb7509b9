"""Experiment 4, sensitivity (Novak et al. 2018): the input-output Jacobian norm across batch sizes.

config key  sensitivity (n_train, lr, epochs, batch_sizes, n_points, output, eval_*)
runs        batch{b}: one shallow CNN (conv16-dense10) per batch size and seed
rules       workflow/rules/sensitivity.smk (sensitivity_measure, sensitivity_summary, plot_sensitivity)
tables      results/sensitivity/{run}/seed{k}.csv, results/sensitivity/summary.csv:
            batch_size, sensitivity = mean over the first n_points test images of ||d f(x)/dx||_F, final metrics
figures     image/Flatness_vs_gen_p2_sens_acc.png, image/Flatness_vs_gen_p2_sens_loss.png
claims      finding_sensitivity_vs_batch_size, finding_sensitivity_tracks_gap; large_batch_sharper when measured
"""

from __future__ import annotations

import logging

import pandas as pd

from .. import evidence as ev
from ..columns import FINAL_METRICS, SAMPLING_COLUMNS
from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import SENS, TEST, TRAIN, figure, legend_below, line, metric_axis, read_table, seeds_note
from ._shared import check_batch_size, runs, section_config, standard_outputs

log = logging.getLogger("genlab")

NAME = "sensitivity"
ARCH = "shallow_cnn"
FIGURES = {"accuracy": "image/Flatness_vs_gen_p2_sens_acc.png", "loss": "image/Flatness_vs_gen_p2_sens_loss.png"}
SUMMARY_CSV = f"results/{NAME}/summary.csv"
COLUMNS = ["experiment", "run", "seed", "data_seed", "batch_size", "lr", "n_points", "output", "sensitivity",
           "sensitivity_se", *FINAL_METRICS, *SAMPLING_COLUMNS]


def run_names(section: dict) -> list[str]:
    return [f"batch{b}" for b in section["batch_sizes"]]


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    return section_config(config, NAME, run, seed, arch=ARCH, batch_size=int(run.removeprefix("batch")))


def check(config: dict) -> None:
    for i, b in enumerate(config[NAME]["batch_sizes"]):
        check_batch_size(config, f"{NAME}.batch_sizes.{i}", b, f"{NAME}.n_train")


TEST_IMAGE_KEYS = ("n_points",)  # besides eval_test_size: keys that count test images
POINT_ARCHS = (ARCH,)  # its jobs are priced per Jacobian point: genlab.calibration times them


def run_tables(config: dict) -> list[str]:
    """One sensitivity table per run and seed (rule sensitivity_measure)."""
    return [f"results/{NAME}/{run}/seed{seed}.csv" for run, seed in runs(config, NAME)]


def checkpoint_measures(config: dict) -> list[tuple[str, str, str]]:
    """The sensitivity of each checkpoint, as a measure of the measure table: (csv, measure, value column)."""
    return [(path, "sensitivity", "sensitivity") for path in run_tables(config)]


SHARPNESS_FIGURE = "image/Sharpness_vs_batch_size.png"


def sharpness_measures(config: dict) -> list[str]:
    """The measures the sharpness figure draws against batch size: those the large_batch_sharper claim
    judges (genlab.measures.sharpness_names); none when this experiment's checkpoints are not measured."""
    from .. import measures
    from ..measures import plan as measure_plan

    return measures.sharpness_names(config) if NAME in measure_plan.measured_experiments(config) else []


def marked_runs(config: dict) -> dict[str, dict[str, str]]:
    """Runs of other measured experiments marked on the sweep at their own batch size: their module's
    MARKED_RUNS ({run: marker}), e.g. two solutions of different batch sizes."""
    from . import chosen, get
    from ..measures import plan as measure_plan

    measured = measure_plan.measured_experiments(config)
    return {name: dict(get(name).MARKED_RUNS) for name in chosen(config)
            if name != NAME and name in measured and getattr(get(name), "MARKED_RUNS", None)}


def outputs(config: dict) -> list[str]:
    return [*standard_outputs(NAME, FIGURES), SUMMARY_CSV, *([SHARPNESS_FIGURE] if sharpness_measures(config) else [])]


def sharpness_experiments(config: dict) -> list[str]:
    """The experiments whose measures the sharpness figure shows: this one's sweep and the marked runs'."""
    return [NAME, *marked_runs(config)]


def plot_sharpness(
    table: str, metrics: list[str], png: str, names: list[str], marked: dict[str, dict[str, str]], settings: str = ""
) -> None:
    """Each sharpness measure against batch size (log2), the gap on a twin axis, marked runs of other experiments."""
    from ..measures.figures import plot_measure_sweep

    plot_measure_sweep(table, metrics, png, NAME, "batch_size", names, marked, title="Sharpness vs batch size", settings=settings)


def jobs(config: dict, cost) -> list[dict]:
    """A Jacobian job per run and seed (reading its checkpoint), the summary table, and the sharpness figure when drawn."""
    n_points = config[NAME]["n_points"]
    rows = [
        cost.job(NAME, "sensitivity_measure", f"{NAME}/{run}/seed{seed}", n_points * cost.point_time(ARCH, None), stage=2,
                 reads=[f"{NAME}/{run}/seed{seed}"], what=f"{n_points} points")
        for run, seed in runs(config, NAME)
    ]
    rows.append(cost.light_job(NAME, f"{NAME}_summary", f"{NAME}_summary", stage=3))
    if sharpness_measures(config):  # the figure of the flatness measures against batch size
        rows.append(cost.light_job(NAME, "plot_sharpness_vs_batch_size", "plot/sharpness_vs_batch_size"))
    return rows


def sensitivity_job(
    checkpoint: str, planned: dict, data_root: str, out: str, n_points: int, output: str,
    fingerprint: dict, threads: int = 1, device: str = "auto",
) -> dict:
    """Mean per-point Jacobian norm of one checkpoint over the first n_points test images."""
    from ..atomic import write_csv
    from ..checkpoint import load_planned, model_for
    from ..data import load_test_images
    from ..device import configure, pick_device
    from ..measures.jacobian import jacobian_norms

    ckpt = load_planned(checkpoint, planned, fingerprint)
    cfg: TrainConfig = ckpt["config"]
    if cfg.experiment != NAME:
        raise GenlabError(f"{checkpoint}: checkpoint has experiment={cfg.experiment!r}, this step needs experiment={NAME!r}")
    dev = pick_device(device)
    configure(threads, dev)
    x = load_test_images(data_root, fingerprint, n_points, key=f"{NAME}.n_points").to(dev)
    norms = jacobian_norms(model_for(ckpt, checkpoint).to(dev), x, output)  # (n_points,)
    value = norms.mean().item()
    std_error = (norms.std() / len(norms) ** 0.5).item() if len(norms) > 1 else None
    row = {
        "experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed, "data_seed": cfg.data_seed,
        "batch_size": cfg.batch_size, "lr": cfg.lr, "n_points": n_points, "output": output,
        "sensitivity": value, "sensitivity_se": std_error,
        **{k: ckpt["metrics"].get(k) for k in (*FINAL_METRICS, *SAMPLING_COLUMNS)},
    }
    write_csv(out, [row], COLUMNS)
    log.info("sensitivity %s = %.6g over %d points", cfg.describe(), value, n_points)
    return row


def plot(summary_csv: str, accuracy_png: str, loss_png: str, settings: str = "") -> None:
    """Final accuracy (or loss), train and test, with the sensitivity on a twin axis, against batch size."""
    rows = read_table(summary_csv)
    note = seeds_note(rows)
    output = rows["output"].iloc[0] if "output" in rows else "softmax"
    for metric, path, ylabel in (("accuracy", accuracy_png, "final accuracy"), ("loss", loss_png, "final cross-entropy loss")):
        with figure(path, f"Sensitivity and {metric} vs batch size" + note, figsize=(6.8, 4.2), settings=settings) as ax:
            handles = [
                line(ax, rows, "batch_size", f"train_{metric}", f"train {metric}", TRAIN, marker="o"),
                line(ax, rows, "batch_size", f"test_{metric}", f"test {metric}", TEST, marker="o"),
            ]
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size")
            metric_axis(ax, rows, metric, ylabel)
            sens = ax.twinx()
            handles.append(line(sens, rows, "batch_size", "sensitivity", f"sensitivity ({output})", SENS, marker="s"))
            sens.set_ylabel(r"sensitivity: mean $\|\partial f/\partial x\|_F$")
            legend_below(ax, handles, ncol=3)


# ---------------------------------------------------------------- claims

SUMMARY_COLUMNS = ["batch_size", "output", "sensitivity", "train_accuracy", "test_accuracy", "seed"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"summary": [SUMMARY_CSV]}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "summary", SUMMARY_COLUMNS)
    out = judge(*found) if found else []
    return out + ev.large_batch_sharper(inputs, NAME, _rising_with_batch, _rising_header)


def judge(summary: pd.DataFrame, source: str = "sensitivity summary") -> list[dict]:
    """Findings sensitivity_vs_batch_size (homework: falls with batch size) and sensitivity_tracks_gap
    (Novak et al.: rises with train - test accuracy). The first uses the mean over seeds per batch
    size, as plotted; the second every network, as Novak et al. correlate networks. Each is
    Kendall's tau with its exact permutation interval (six batch sizes are few points)."""
    df = ev.checked(summary, SUMMARY_COLUMNS, source)
    df = ev.numeric(df, [c for c in SUMMARY_COLUMNS if c != "output"], source)
    outputs = sorted(df["output"].astype(str).unique())
    if len(outputs) != 1:
        raise GenlabError(f"{source}: mixes sensitivity outputs {', '.join(outputs)}")
    output = outputs[0]
    by_batch = df.groupby("batch_size")["sensitivity"].mean()
    gap = df["train_accuracy"] - df["test_accuracy"]
    n_seeds = df["seed"].nunique()
    return [
        ev.ranked(NAME, "finding_sensitivity_vs_batch_size", by_batch.index, by_batch.to_numpy(), -1,
                  f"sensitivity ({output} output) vs batch size (the homework, with logits)",
                  f"{len(by_batch)} batch sizes", n_seeds, ev.seeds_note(n_seeds)),
        ev.ranked(NAME, "finding_sensitivity_tracks_gap", df["sensitivity"], gap, +1,
                  f"sensitivity ({output} output) vs generalization gap train - test accuracy (Novak et al.)",
                  f"{len(df)} networks", n_seeds),
    ]


def _rising_with_batch(rows: pd.DataFrame, measure: str) -> tuple:
    """Kendall's tau of the mean over seeds against batch size, with its permutation interval."""
    from ..stats import tau_interval, verdict

    by_batch = rows.groupby("batch_size")["value"].mean().sort_index()
    tau, low, high = tau_interval(by_batch.index, by_batch.to_numpy())
    return verdict(low, high, 0.0), tau, low, high, f"{measure} {ev.signed(tau)} [{ev.signed(low)}, {ev.signed(high)}]"


def _rising_header(rows: pd.DataFrame) -> str:
    return (f"Kendall tau of sharpness vs batch size over {rows['batch_size'].nunique()} batch sizes, with its "
            "permutation interval (need each above 0): ")
