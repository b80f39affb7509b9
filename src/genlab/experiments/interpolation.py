"""Experiment 3, flatness by interpolation (Keskar et al. 2017): the line between a large-batch and a small-batch solution.

config key  interpolation (n_train, epochs, solution_a, solution_b, alpha, alpha_eval_*, eval_*)
runs        A (solution_a, large batch) and B (solution_b, small batch), deep CNN, per seed
rules       workflow/rules/interpolation.smk (interpolate, plot_interpolation), shared subset/train/metrics
tables      results/interpolation/seed{k}.csv: loss and accuracy at each alpha, theta = (1-a) theta_A + a theta_B
claims      endpoints_are_minima, barrier, rises_outside, finding_steeper_side; large_batch_sharper when measured
figures     image/Flatness_vs_gen_p1_inter.png
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import evidence as ev
from ..columns import FINAL_METRICS, SAMPLING_COLUMNS
from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import TRAIN, TEST, figure, legend_below, line, mean_band, read_tables, seeds_note
from ..stats import claim_interval, combined, verdict
from ._shared import check_batch_size, metrics_table, section_config, seeds, standard_outputs

log = logging.getLogger("genlab")

NAME = "interpolation"
ARCH = "deep_cnn"
FIGURES = {"interpolation": "image/Flatness_vs_gen_p1_inter.png"}
SOLUTIONS = {"A": "solution_a", "B": "solution_b"}
MARKED_RUNS = {"A": "*", "B": "D"}  # marked on other experiments' measure sweeps at their own batch size
COLUMNS = ["alpha", *FINAL_METRICS, *SAMPLING_COLUMNS, "seed_a", "seed_b"]
MAX_ALPHAS = 10_001  # more is a typo in the step, and costs seconds of parsing on every call


def run_names(section: dict) -> list[str]:
    return list(SOLUTIONS)


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    solution = config[NAME][SOLUTIONS[run]]
    epochs = solution.get("epochs") or config[NAME]["epochs"]  # a small batch converges in fewer epochs
    return section_config(
        config, NAME, run, seed, arch=ARCH, lr=float(solution["lr"]), batch_size=int(solution["batch_size"]), epochs=int(epochs)
    )


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


TEST_IMAGE_KEYS = ("alpha_eval_test_size",)  # besides eval_test_size: keys that count test images


def curve_paths(config: dict) -> list[str]:
    return [f"results/interpolation/seed{seed}.csv" for seed in seeds(config, NAME)]


def outputs(config: dict) -> list[str]:
    return standard_outputs(NAME, FIGURES)


def jobs(config: dict, cost) -> list[dict]:
    """One interpolation job per seed: every alpha evaluated on the fixed evaluation subsets; it reads A and B."""
    section = config[NAME]
    n_alphas = len(alphas(config))
    images = (section["alpha_eval_train_size"] or section["n_train"]) + (section["alpha_eval_test_size"] or cost.n_test)
    return [
        cost.job(NAME, "interpolate", f"{NAME}/seed{seed}", n_alphas * images * cost.eval_time(ARCH, None), stage=2,
                 reads=[f"{NAME}/{run}/seed{seed}" for run in SOLUTIONS], what=f"{n_alphas} alphas x {images} images")
        for seed in seeds(config, NAME)
    ]


def interpolate_state(state_a: dict, state_b: dict, alpha: float) -> dict:
    # Written as (1-a)A + aB (not A + a(B-A)) so that a=0 and a=1 give A and B bit for bit.
    return {k: (1.0 - alpha) * state_a[k] + alpha * state_b[k] for k in state_a}


def interpolation_curve(model, state_a: dict, state_b: dict, alphas: Sequence[float], data, batch_size: int = 1000) -> list[dict]:
    """Loss and accuracy of theta(alpha) on data's train and test sets (genlab.data.Tensors), one row per alpha."""
    import torch

    from ..training import evaluate_splits

    device = data.x_train.device
    state_a = {k: v.to(device) for k, v in state_a.items()}
    state_b = {k: v.to(device) for k, v in state_b.items()}
    model.to(device)
    rows = []
    for alpha in alphas:
        with torch.no_grad():
            model.load_state_dict(interpolate_state(state_a, state_b, alpha))
        rows.append({"alpha": alpha, **evaluate_splits(model, data, batch_size)})
    return rows


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


def solution_labels(config: dict) -> dict[str, str]:
    """What trained each solution, for the figure: {"A": "batch 1024, lr 0.01", "B": ...}."""
    return {run: f"batch {int(config[NAME][key]['batch_size'])}, lr {float(config[NAME][key]['lr']):g}"
            for run, key in SOLUTIONS.items()}


def _mark_solutions(ax, rows: pd.DataFrame, solutions: dict[str, str]) -> list:
    """A at alpha 0 and B at alpha 1: a dotted line, the marker of MARKED_RUNS on the train loss,
    the letter on a top axis; returns the markers (their legend entries say what trained them)."""
    loss = mean_band(rows, "alpha", "train_loss")["mean"]
    handles = []
    for alpha, run in ((0.0, "A"), (1.0, "B")):
        ax.axvline(alpha, color="gray", linestyle=":", linewidth=0.8)
        label = f"{run} ($\\alpha$ = {alpha:g}): " + solutions.get(run, f"solution {run}")
        at = [loss.loc[alpha]] if alpha in loss.index else [float("nan")]  # a grid may miss an endpoint
        handles += ax.plot([alpha], at, marker=MARKED_RUNS[run], markersize=9, color="black",
                           linestyle="", zorder=3, label=label)
    top = ax.secondary_xaxis("top")
    top.set_xticks([0.0, 1.0], ["A", "B"], fontweight="bold")
    return handles


def plot(csvs: Sequence[str], png: str, settings: str = "", solutions: dict[str, str] | None = None) -> None:
    """Loss (log scale) and accuracy (dashed, twin axis) along alpha, train and test; solutions A
    (alpha 0) and B (alpha 1) marked and, in the legend, described by `solutions` (solution_labels)."""
    rows = read_tables(csvs)
    rows["alpha"] = rows["alpha"].round(9)  # the endpoints exactly 0 and 1 (written rounded)
    title = "Flatness: interpolation between two solutions" + seeds_note(rows, "seed_a")
    with figure(png, title, figsize=(7.0, 4.6), settings=settings) as ax:
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
        ax.set_zorder(acc.get_zorder() + 1)  # the A and B markers above the accuracy lines
        ax.patch.set_visible(False)  # ... without hiding them
        handles += _mark_solutions(ax, rows, solutions or {})
        # Below the axes: the curves fill the whole frame at both ends.
        legend_below(ax, handles, ncol=2)


# ---------------------------------------------------------------- claims

# Keskar et al.'s solutions fit the training set; 0.98 is "fitted" with room for a few hard
# images, and it rules out a solution still far from any minimum.
ENDPOINT_MIN_TRAIN_ACCURACY = 0.98
# A barrier: the highest train loss strictly between the solutions is at least twice the higher
# endpoint loss AND at least 0.1 nats above it; the ratio alone would call numerical noise on two
# near-zero losses a barrier, the margin alone would ignore the scale of the endpoints.
BARRIER_MIN_RATIO = 2.0
BARRIER_MIN_EXCESS = 0.1
# Outside [0, 1] the loss at the farthest alpha on each side is at least twice its endpoint's.
RISE_OUTSIDE_MIN_RATIO = 2.0
CURVE_COLUMNS = ["alpha", "train_loss", "train_accuracy"]
METRICS_COLUMNS = ["run", "seed", "train_accuracy"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"curves": curve_paths(config), "metrics": [metrics_table(NAME)]}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    curves = ev.table(inputs, "curves", CURVE_COLUMNS)
    out = []
    if curves is not None:
        metrics = ev.table(inputs, "metrics", METRICS_COLUMNS)
        out += judge(curves[0], metrics[0] if metrics else None, curves[1], metrics[1] if metrics else "interpolation metrics")
    out += ev.large_batch_sharper(inputs, NAME, _sharper_solution, _sharper_header)
    return out


def _sharper_solution(rows: pd.DataFrame, measure: str) -> tuple:
    """The larger-batch solution's value minus the smaller-batch one's, per seed; its mean and a
    bootstrap interval over seeds (one seed: no interval, inconclusive)."""
    from ..stats import bootstrap_interval, verdict

    by_seed = rows.pivot_table(index="seed", columns="batch_size", values="value", aggfunc="mean").sort_index(axis=1)
    if by_seed.shape[1] != 2:
        return "not_held", math.nan, math.nan, math.nan, f"{measure}: not two solutions of different batch sizes"
    diff = (by_seed.iloc[:, 1] - by_seed.iloc[:, 0]).dropna().to_list()
    effect = sum(diff) / len(diff)
    low, high = bootstrap_interval(diff, lambda picked: sum(picked) / len(picked))
    small, large = by_seed.iloc[:, 0].mean(), by_seed.iloc[:, 1].mean()
    return verdict(low, high, 0.0), effect, low, high, f"{measure} {ev.num(large)} vs {ev.num(small)} [diff {ev.num(low)}, {ev.num(high)}]"


def _sharper_header(rows: pd.DataFrame) -> str:
    sizes = sorted(rows["batch_size"].unique())
    return (f"sharpness of the batch-{int(sizes[-1])} solution vs the batch-{int(sizes[0])} one (need larger on each, "
            "the difference's interval over seeds above 0): ")


def _alpha_curve(curves: pd.DataFrame, source: str) -> pd.DataFrame:
    df = ev.numeric(ev.checked(curves, CURVE_COLUMNS, source), CURVE_COLUMNS, source)
    df["alpha"] = df["alpha"].round(9)  # the grid is written rounded; this only merges float drift
    if "seed_a" not in df.columns:
        df["seed_a"] = 0
    for endpoint in (0.0, 1.0):
        if endpoint not in set(df["alpha"]):
            raise GenlabError(f"{source}: no row at alpha {endpoint:g}")
    return df


def _losses(df: pd.DataFrame) -> pd.Series:
    """The train loss at each alpha, mean over seeds."""
    return df.groupby("alpha")["train_loss"].mean().sort_index()


def _barrier(df: pd.DataFrame) -> tuple[float, float, float]:
    """(alpha, ratio, excess) of the highest train loss strictly inside (0, 1) over the higher endpoint's."""
    loss = _losses(df)
    inside = loss[(loss.index > 0) & (loss.index < 1)]
    ends = max(loss.loc[0.0], loss.loc[1.0])
    peak = inside.max()
    return float(inside.idxmax()), (peak / ends if ends > 0 else math.inf), peak - ends


def _outside(df: pd.DataFrame) -> tuple[float, float]:
    """The loss at the farthest alpha on each side over its endpoint's: (A's side, B's side)."""
    loss = _losses(df)
    far_a, far_b = loss.index.min(), loss.index.max()
    l0, l1 = loss.loc[0.0], loss.loc[1.0]
    return (loss.loc[far_a] / l0 if l0 > 0 else math.inf), (loss.loc[far_b] / l1 if l1 > 0 else math.inf)


def _slopes(df: pd.DataFrame) -> tuple[float, float, float]:
    """(d, rise per unit alpha on A's side, on B's side) at the same distance d outside [0, 1]."""
    loss = _losses(df)
    alphas = loss.index.to_numpy()
    d = float(min(-alphas.min(), alphas.max() - 1.0))
    loss_a = float(np.interp(-d, alphas, loss.to_numpy()))  # on the grid itself when it is symmetric
    loss_b = float(np.interp(1.0 + d, alphas, loss.to_numpy()))
    return d, (loss_a - loss.loc[0.0]) / d, (loss_b - loss.loc[1.0]) / d


def _endpoint_accuracy(m: pd.DataFrame) -> float:
    by_run = m.groupby(m["run"].astype(str))["train_accuracy"].mean()
    return float(min(by_run.get("A", math.nan), by_run.get("B", math.nan)))


def judge(
    curves: pd.DataFrame, metrics: pd.DataFrame | None = None,
    source: str = "interpolation curves", metrics_source: str = "interpolation metrics",
) -> list[dict]:
    """endpoints_are_minima, barrier, rises_outside, and the finding finding_steeper_side.

    alpha 0 is solution A (large batch), alpha 1 is B (small batch); losses are train losses.
    The endpoints' train accuracy comes from the metrics (whole training set) when given,
    else from the curve's own evaluation at alpha 0 and 1. Intervals: over seeds, or the
    sampling error of each evaluated mean (train_loss_se; binomial accuracies).
    """
    df = _alpha_curve(curves, source)
    n_seeds = df["seed_a"].nunique()
    note = ev.seeds_note(n_seeds)
    loss = _losses(df)
    alphas = loss.index.to_numpy()
    l0, l1 = loss.loc[0.0], loss.loc[1.0]
    has_se = {"train_loss_se", "n_train_eval"} <= set(df.columns)
    noise = {"train_loss": "train_loss_se", "train_accuracy": ("binomial", "n_train_eval")} if has_se else {}

    def interval(frame, statistic, seed_column="seed_a", noisy=has_se):
        if frame["seed" if seed_column == "seed" else seed_column].nunique() < 2 and not noisy:
            return math.nan, math.nan
        return claim_interval(frame, statistic, noise if seed_column == "seed_a" else m_noise, seed_column)

    if metrics is not None:
        m = ev.numeric(ev.checked(metrics, METRICS_COLUMNS, metrics_source), ["seed", "train_accuracy"], metrics_source)
        for run in SOLUTIONS:
            if run not in set(m["run"].astype(str)):
                raise GenlabError(f"{metrics_source}: no run {run}")
        m_noise = {"train_accuracy": ("binomial", "n_train_eval")} if "n_train_eval" in m.columns else {}
        acc_a, acc_b = (m[m["run"].astype(str) == run]["train_accuracy"].mean() for run in SOLUTIONS)
        low, high = interval(m, _endpoint_accuracy, "seed", bool(m_noise))
        where = "whole training set"
    else:
        ends = df[df["alpha"].isin([0.0, 1.0])].assign(run=lambda f: f["alpha"].map({0.0: "A", 1.0: "B"}))
        acc_a, acc_b = (ends[ends["run"] == run]["train_accuracy"].mean() for run in SOLUTIONS)
        m_noise = noise
        low, high = interval(ends, _endpoint_accuracy)
        where = "curve's training subset"
    # Not "lower than the neighbouring alpha": for cross-entropy, scaling up the weights of a network
    # that fits its data lowers the loss, so the line just beyond a fitted endpoint may dip below it.
    out = [ev.judged(NAME, "endpoints_are_minima", min(acc_a, acc_b), (low, high), ENDPOINT_MIN_TRAIN_ACCURACY, True, n_seeds,
                     f"train accuracy A {ev.acc(acc_a)}, B {ev.acc(acc_b)} ({where}; need both >= "
                     f"{ev.acc(ENDPOINT_MIN_TRAIN_ACCURACY)}); train loss A {ev.num(l0)}, B {ev.num(l1)}{note}")]

    if ((alphas > 0) & (alphas < 1)).any():
        at, ratio, excess = _barrier(df)
        ratio_ci, excess_ci = interval(df, lambda f: _barrier(f)[1]), interval(df, lambda f: _barrier(f)[2])
        both = combined([verdict(*ratio_ci, BARRIER_MIN_RATIO), verdict(*excess_ci, BARRIER_MIN_EXCESS)])
        out.append(ev.judged(NAME, "barrier", ratio, ratio_ci, BARRIER_MIN_RATIO, True, n_seeds,
                             f"highest train loss inside (0, 1) at alpha {at:g} = {ev.num(ratio)} x the higher endpoint's "
                             f"(need >= {ev.num(BARRIER_MIN_RATIO)}), excess {ev.num(excess)} [{ev.num(excess_ci[0])}, "
                             f"{ev.num(excess_ci[1])}] (need >= {ev.num(BARRIER_MIN_EXCESS)}){note}", verdict=both))
    else:
        out.append(ev.untestable(NAME, "barrier", "no alpha strictly inside (0, 1)"))

    if (alphas < 0).any() and (alphas > 1).any():
        ratio_a, ratio_b = _outside(df)
        out.append(ev.judged(NAME, "rises_outside", min(ratio_a, ratio_b), interval(df, lambda f: min(_outside(f))),
                             RISE_OUTSIDE_MIN_RATIO, True, n_seeds,
                             f"train loss at alpha {alphas.min():g} = {ev.num(ratio_a)} x A's, at alpha {alphas.max():g} = "
                             f"{ev.num(ratio_b)} x B's (need both >= {ev.num(RISE_OUTSIDE_MIN_RATIO)}){note}"))
        d, slope_a, slope_b = _slopes(df)
        steeper = "A (large-batch)" if slope_a > slope_b else "B (small-batch)" if slope_b > slope_a else "neither"
        out.append(ev.judged(NAME, "finding_steeper_side", slope_a - slope_b, interval(df, lambda f: _slopes(f)[1] - _slopes(f)[2]),
                             0.0, True, n_seeds,
                             f"train loss rise per unit alpha at distance {d:g} outside [0, 1]: A side (alpha {-d:g}) "
                             f"{ev.num(slope_a)}, B side (alpha {1 + d:g}) {ev.num(slope_b)}: {steeper} side steeper; "
                             f"Keskar et al. expect A{note}"))
    else:
        why = "no alpha on both sides outside [0, 1]"
        out += [ev.untestable(NAME, "rises_outside", why), ev.untestable(NAME, "finding_steeper_side", why)]
    return out
