"""Experiment 5, corrupted data (Zhang et al. 2017, Fig. 1): how much longer does the deep CNN take to
fit as labels get noisier or inputs lose their structure, and what happens to the test error?

config key  corruption (n_train, lr, batch_size, epochs, label_noise, input_corruptions, fit_threshold,
            eval_*): types by the JSON schema, cross-key rules by `check`
runs        noise{p}: one deep CNN per label-noise level p and seed ("noise0p2" for p = 0.2), then
            shuffledpixels, randompixels, gaussian (true labels); `run_spec` maps a name back to
            (corruption, label_noise). A run stops at the first epoch whose train accuracy, on the
            labels trained on, reaches fit_threshold (at most `epochs`).
data        one subset per run (`subset_name`, `subset_params`): the same n_train images (data_seed),
            corrupted by genlab.corrupt.corrupt_subset, whose docstring says what the test set gets
rules       workflow/rules/corruption.smk, shared subset/train
tables      results/runs/corruption/{run}/seed{k}/history.csv (HISTORY_COLUMNS, one row per epoch),
            results/corruption/summary.csv (SUMMARY_COLUMNS, `write_summary`: time to fit, final metrics)
figures     FIGURES, drawn from those CSVs only by the plot_* functions below
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd
from matplotlib import colormaps

from ..atomic import atomic_path, save_figure
from ..config import TrainConfig
from ..errors import GenlabError
from ..plots import figure, mean_band, plt, read_table, seeds_note
from ._shared import check_batch_size, section_config, unknown_run

NAME = "corruption"
ARCH = "deep_cnn"
INPUT_CORRUPTIONS = ("shuffled_pixels", "random_pixels", "gaussian")
CORRUPTIONS = ("labels", *INPUT_CORRUPTIONS)  # run kinds, in the summary's order
FIGURES = {
    "learning_curves": "image/Corruption_learning_curves.png",
    "time_to_fit": "image/Corruption_time_to_fit.png",
    "test_error": "image/Corruption_test_error.png",
    "memorization": "image/Corruption_memorization.png",
}
SUMMARY_CSV = "results/corruption/summary.csv"
RUN_NAME = re.compile(r"[A-Za-z0-9]+")  # what a Snakemake wildcard of a run may hold

# step: optimizer steps since the start, at the end of the epoch. The last row is where
# training stopped. clean/corrupted accuracies are on the labels trained on; a group with
# no example is an empty cell.
HISTORY_COLUMNS = [
    "epoch", "step", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
    "clean_train_accuracy", "corrupted_train_accuracy", "seed", "data_seed",
]
FINAL_METRICS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
SUMMARY_COLUMNS = ["corruption", "label_noise", "seed", "epochs_to_fit", "steps_to_fit", *FINAL_METRICS]

# ---------------------------------------------------------------- runs


def noise_run_name(p: float) -> str:
    """p = 0.2 -> "noise0p2", 1.0 -> "noise1p0", 1e-05 -> "noise0p00001": the shortest decimal of p, "." as "p"."""
    return "noise" + f"{Decimal(repr(float(p))):f}".replace(".", "p")


def input_run_name(corruption: str) -> str:
    return corruption.replace("_", "")


def _specs(section: dict) -> dict[str, dict]:
    specs = {noise_run_name(p): {"corruption": "labels", "label_noise": float(p)} for p in section["label_noise"]}
    for corruption in section["input_corruptions"]:
        specs[input_run_name(corruption)] = {"corruption": corruption, "label_noise": 0.0}
    return specs


def run_names(section: dict) -> list[str]:
    """Label-noise runs in config order, then input-corruption runs; section = config["corruption"]."""
    return list(_specs(section))


def run_spec(section: dict, run: str) -> dict:
    """{"corruption": labels | shuffled_pixels | random_pixels | gaussian, "label_noise": float}."""
    specs = _specs(section)
    if run not in specs:
        raise unknown_run(NAME, run, list(specs))
    return dict(specs[run])


def all_runs(config: dict) -> list[tuple[str, int]]:
    return [(run, seed) for run in run_names(config[NAME]) for seed in config["seeds"]]


def run_specs(config: dict) -> list[dict]:
    """run_spec of every run and seed, in plan order (the order of the history files)."""
    return [run_spec(config[NAME], run) for run, seed in all_runs(config)]


def check(config: dict) -> None:
    """The cross-key rules the schema cannot state; one-line GenlabError naming the key."""
    section = config[NAME]
    key = f"config key {NAME}"
    seen: set[float] = set()
    for p in section["label_noise"]:
        if not 0.0 <= p <= 1.0:
            raise GenlabError(f"{key}.label_noise: {p!r} is outside [0, 1]")
        if float(p) in seen:
            raise GenlabError(f"{key}.label_noise: {p!r} is listed twice")
        seen.add(float(p))
    names: set[str] = set()
    for corruption in section["input_corruptions"]:
        if corruption not in INPUT_CORRUPTIONS:
            raise GenlabError(f"{key}.input_corruptions: {corruption!r} is not one of {', '.join(INPUT_CORRUPTIONS)}")
        if corruption in names:
            raise GenlabError(f"{key}.input_corruptions: {corruption!r} is listed twice")
        names.add(corruption)
    if not seen and not names:
        raise GenlabError(f"{key}: label_noise and input_corruptions are both empty, no run to train")
    threshold = section["fit_threshold"]
    if threshold is None or not 0.0 < threshold <= 1.0:
        raise GenlabError(f"{key}.fit_threshold: {threshold!r} is outside (0, 1]")
    n = section["n_train"]
    check_batch_size(config, f"{NAME}.batch_size", section["batch_size"], f"{NAME}.n_train")
    eval_n = section.get("eval_train_size")
    if eval_n is not None and eval_n > n:
        raise GenlabError(f"{key}.eval_train_size: {eval_n} exceeds n_train {n}")
    positive = [p for p in section["label_noise"] if p > 0]
    if positive:
        p = min(positive)
        # The rule of genlab.corrupt.n_chosen (not imported: it would load torch at parse time).
        if round(p * n) == 0:
            raise GenlabError(
                f"{key}.label_noise: {p!r} of n_train {n} images chooses no example (round({p!r} * {n}) = 0), so nothing is corrupted"
            )


def subset_params(config: dict, run: str) -> dict:
    """What determines a run's corrupted subset: the arguments of corrupt_subset but the images (seed: data_seed)."""
    section = config[NAME]
    spec = run_spec(section, run)
    return {
        "n_train": int(section["n_train"]),
        "seed": int(config["data_seed"]),
        "label_noise": spec["label_noise"],
        "input_corruption": "none" if spec["corruption"] == "labels" else spec["corruption"],
    }


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    params = subset_params(config, run)
    return section_config(
        config, NAME, run, seed, arch=ARCH, random_labels=False,
        label_noise=params["label_noise"], input_corruption=params["input_corruption"],
        fit_threshold=float(config[NAME]["fit_threshold"]),
    )


def subset_name(run: str) -> str:
    """Every run trains on its own corruption of the same images: results/subsets/corruption_{run}.pt."""
    return f"{NAME}_{run}"


# ---------------------------------------------------------------- summary


def _read(path: str | Path, columns: Sequence[str]) -> pd.DataFrame:
    frame = read_table(path, columns)  # pandas >= 3 parses floats exactly as written
    if frame.empty:
        raise GenlabError(f"{path}: no rows")
    return frame


def _checked_spec(spec: dict, path) -> tuple[str, float]:
    if spec.get("corruption") not in CORRUPTIONS:
        raise GenlabError(f"{path}: run corruption {spec.get('corruption')!r} is not one of {', '.join(CORRUPTIONS)}")
    return spec["corruption"], float(spec["label_noise"])


def _pairs(histories: Sequence[str], run_specs: Sequence[dict]) -> list[tuple[str, dict]]:
    if len(histories) != len(run_specs):
        raise GenlabError(f"{NAME}: {len(histories)} histories but {len(run_specs)} run specs")
    if not histories:
        raise GenlabError(f"{NAME}: no history to summarise or plot")
    return list(zip(histories, run_specs))


def summary(histories: Sequence[str], run_specs: Sequence[dict], fit_threshold: float) -> pd.DataFrame:
    """One row per run and seed: the first epoch (and step) whose train accuracy reached fit_threshold,
    empty if none did, and the metrics of the last epoch trained. run_specs[i] (run_spec's dict) says
    which run histories[i] belongs to. Sorted by corruption (CORRUPTIONS order), label_noise, seed."""
    rows, where = [], {}
    for path, spec in _pairs(histories, run_specs):
        corruption, noise = _checked_spec(spec, path)
        hist = _read(path, HISTORY_COLUMNS)
        fitted = hist[hist["train_accuracy"] >= fit_threshold]
        seed = int(hist["seed"].iloc[-1])
        ident = (corruption, noise, seed)
        if ident in where:
            raise GenlabError(f"{path}: a second history of {corruption} p={noise} seed {seed} (first: {where[ident]})")
        where[ident] = path
        rows.append(
            {
                "corruption": corruption,
                "label_noise": noise,
                "seed": seed,
                "epochs_to_fit": int(fitted["epoch"].iloc[0]) if len(fitted) else None,
                "steps_to_fit": int(fitted["step"].iloc[0]) if len(fitted) else None,
                **{k: float(hist[k].iloc[-1]) for k in FINAL_METRICS},
            }
        )
    rows.sort(key=lambda r: (CORRUPTIONS.index(r["corruption"]), r["label_noise"], r["seed"]))  # stable
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for column in ("epochs_to_fit", "steps_to_fit"):
        frame[column] = frame[column].astype("Int64")  # integers, missing as an empty cell
    return frame


def write_summary(histories: Sequence[str], run_specs: Sequence[dict], fit_threshold: float, out_csv: str | Path) -> None:
    frame = summary(histories, run_specs, fit_threshold)
    with atomic_path(out_csv) as tmp:
        # pandas writes floats as their shortest repr: a rerun compares byte for byte.
        frame.to_csv(tmp, index=False, lineterminator="\n")


# ---------------------------------------------------------------- figures
# With several seeds a line is their mean and the band spans their minimum to maximum.

INPUT_STYLE = {  # color, marker, label
    "shuffled_pixels": ("tab:red", "s", "shuffled pixels"),
    "random_pixels": ("tab:purple", "^", "random pixels"),
    "gaussian": ("tab:brown", "D", "gaussian"),
}
NOISE_LINE = "tab:blue"  # label-noise runs on the time-to-fit and test-error plots
CLEAN, CORRUPTED = "tab:blue", "tab:red"


def _run_label(corruption: str, p: float) -> str:
    if corruption != "labels":
        return INPUT_STYLE[corruption][2]
    if p == 0:
        return "true labels"
    return "random labels (p = 1)" if p == 1 else f"label noise p = {p:g}"


def _style(corruption: str, p: float) -> dict:
    if corruption == "labels":
        return {"color": colormaps["viridis"](0.9 * p), "linestyle": "-"}
    return {"color": INPUT_STYLE[corruption][0], "linestyle": "--"}


def _histories_frame(histories: Sequence[str], run_specs: Sequence[dict]) -> pd.DataFrame:
    frames = []
    for path, spec in _pairs(histories, run_specs):
        corruption, noise = _checked_spec(spec, path)
        frames.append(_read(path, HISTORY_COLUMNS).assign(corruption=corruption, label_noise=noise))
    return pd.concat(frames, ignore_index=True)


def _band(ax, frame: pd.DataFrame, x: str, y: str, label: str, color, **style):
    """Mean over seeds of y at each x (over the seeds with a value there) and their min-max band; None if no value."""
    stats = mean_band(frame.dropna(subset=[y]), x, y)
    if stats.empty:
        return None
    (line,) = ax.plot(stats.index, stats["mean"], label=label, color=color, **style)
    if stats["count"].max() > 1:
        ax.fill_between(stats.index, stats["min"], stats["max"], color=color, alpha=0.2, linewidth=0)
    return line


def _curve(ax, run: pd.DataFrame, x: str, y: str, label: str, color, **style):
    """A per-epoch curve over seeds. Runs stop once they fit, so a run's seeds may end at different x:
    the mean and band go as far as every seed went, the seeds that trained longer go on as thin lines."""
    run = run.dropna(subset=[y])
    if run.empty:
        return None
    common = run.groupby("seed")[x].max().min()
    line = _band(ax, run[run[x] <= common], x, y, label, color, **style)
    for _, rows in run[run[x] >= common].groupby("seed"):
        if len(rows) > 1:
            ax.plot(rows[x], rows[y], color=color, linewidth=0.8, alpha=0.7, linestyle=style.get("linestyle", "-"))
    return line


def _ordered_runs(frame: pd.DataFrame) -> list[tuple[str, float]]:
    runs = {(c, float(p)) for c, p in zip(frame["corruption"], frame["label_noise"])}
    return sorted(runs, key=lambda r: (CORRUPTIONS.index(r[0]), r[1]))


def _run_rows(frame: pd.DataFrame, corruption: str, p: float) -> pd.DataFrame:
    return frame[(frame["corruption"] == corruption) & (frame["label_noise"] == p)]


def plot_learning_curves(histories: Sequence[str], run_specs: Sequence[dict], png: str | Path) -> None:
    """Zhang Fig. 1a: training loss against optimizer steps, one line per noise level and input corruption."""
    frame = _histories_frame(histories, run_specs)
    with figure(png, "Corrupted data: training loss" + seeds_note(frame), figsize=(7.0, 4.4)) as ax:
        for corruption, p in _ordered_runs(frame):
            _curve(ax, _run_rows(frame, corruption, p), "step", "train_loss", _run_label(corruption, p), **_style(corruption, p))
        ax.set_xlabel("optimizer steps")
        ax.set_ylabel("training cross-entropy loss")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small")


def _input_positions(frame: pd.DataFrame) -> dict[str, float]:
    """Input corruptions sit right of p = 1, each at its own x, with its name as tick label."""
    present = [c for c in INPUT_CORRUPTIONS if (frame["corruption"] == c).any()]
    return {c: 1.0 + 0.25 * (i + 1) for i, c in enumerate(present)}


def _noise_axis(ax, frame: pd.DataFrame, positions: dict[str, float]) -> None:
    ps = sorted(frame.loc[frame["corruption"] == "labels", "label_noise"].unique())
    ticks = [*ps, *positions.values()]
    labels = [f"{p:g}" for p in ps] + [INPUT_STYLE[c][2].replace(" ", "\n") for c in positions]
    ax.set_xticks(ticks, labels, fontsize="small")
    if positions:
        ax.axvline(1.125, color="gray", linewidth=0.8)
    ax.set_xlabel("label noise p  |  input corruptions (true labels)")


def _points(frame: pd.DataFrame, y: str) -> list[tuple[float, str, pd.Series]]:
    """(x, corruption, y over seeds) per run: label runs at x = p, input runs at their own positions."""
    positions = _input_positions(frame)
    return [
        (p if corruption == "labels" else positions[corruption], corruption, _run_rows(frame, corruption, p)[y])
        for corruption, p in _ordered_runs(frame)
    ]


def _marked_point(ax, x: float, values: pd.Series, corruption: str) -> None:
    color, marker, label = INPUT_STYLE[corruption]
    mean = values.mean()
    err = [[mean - values.min()], [values.max() - mean]] if len(values) > 1 else None
    ax.errorbar([x], [mean], yerr=err, color=color, marker=marker, linestyle="none", capsize=3, label=label)


def plot_time_to_fit(summary_csv: str | Path, png: str | Path) -> None:
    """Zhang Fig. 1b: optimizer steps until train accuracy reached fit_threshold, against label noise.

    Fitted seeds give the mean and min-max; a run with a seed that never fitted also gets a
    hollow marker on the dotted line at the top, labelled with how many seeds did not fit.
    """
    frame = _read(summary_csv, SUMMARY_COLUMNS)
    frame = frame.assign(ksteps=frame["steps_to_fit"] / 1000.0)
    top = 1.0 if frame["ksteps"].isna().all() else 1.12 * frame["ksteps"].max()
    with figure(png, "Time to fit the training data" + seeds_note(frame), figsize=(7.0, 4.4)) as ax:
        labels = frame[frame["corruption"] == "labels"]
        _band(ax, labels, "label_noise", "ksteps", "label noise", NOISE_LINE, marker="o", markersize=5)
        unfitted = False
        for x, corruption, values in _points(frame, "ksteps"):
            fitted = values.dropna()
            if corruption != "labels" and len(fitted):
                _marked_point(ax, x, fitted, corruption)
            missing = len(values) - len(fitted)
            if missing:
                unfitted = True
                color, marker = (NOISE_LINE, "o") if corruption == "labels" else INPUT_STYLE[corruption][:2]
                ax.plot([x], [top], marker=marker, markersize=8, markerfacecolor="none", markeredgecolor=color, linestyle="none")
                ax.annotate(f"{missing}/{len(values)}", (x, top), textcoords="offset points", xytext=(0, 7), ha="center", fontsize="x-small")
        if unfitted:
            ax.axhline(top, color="gray", linestyle=":", linewidth=0.8)
            ax.text(0.01, 0.99, "hollow, k/n: k of n seeds never reached the threshold", transform=ax.transAxes,
                    va="top", fontsize="x-small", color="gray")
        ax.set_ylim(0, top * 1.15)
        _noise_axis(ax, frame, _input_positions(frame))
        ax.set_ylabel("thousand steps to fit")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small", loc="center left")


def plot_test_error(summary_csv: str | Path, png: str | Path) -> None:
    """Zhang Fig. 1c: test error (1 - test accuracy, true test labels) at the end of training, against label noise."""
    frame = _read(summary_csv, SUMMARY_COLUMNS)
    frame = frame.assign(test_error=1.0 - frame["test_accuracy"])
    with figure(png, "Test error at the end of training" + seeds_note(frame), figsize=(7.0, 4.4)) as ax:
        labels = frame[frame["corruption"] == "labels"]
        _band(ax, labels, "label_noise", "test_error", "label noise", NOISE_LINE, marker="o", markersize=5)
        for x, corruption, values in _points(frame, "test_error"):
            if corruption != "labels":
                _marked_point(ax, x, values, corruption)
        ax.axhline(0.9, color="gray", linestyle=":", label="chance (0.9)")
        ax.set_ylim(0, 1.02)
        _noise_axis(ax, frame, _input_positions(frame))
        ax.set_ylabel("test error")
        ax.legend(fontsize="small", loc="upper left")


def plot_memorization(histories: Sequence[str], run_specs: Sequence[dict], png: str | Path) -> None:
    """Training accuracy on the labels trained on, over clean and over corrupted examples, per epoch;
    one panel per label-noise level p > 0. Corrupted examples are fitted later: memorisation."""
    frame = _histories_frame(histories, run_specs)
    noisy = frame[(frame["corruption"] == "labels") & (frame["label_noise"] > 0)]
    ps = sorted(noisy["label_noise"].unique())
    cols = min(3, max(len(ps), 1))
    rows = max(math.ceil(len(ps) / cols), 1)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False, sharey=True, layout="constrained")
    try:
        flat = list(axes.flat)
        if not ps:
            flat[0].text(0.5, 0.5, "no label-noise run with p > 0", ha="center", va="center", transform=flat[0].transAxes)
        for ax in flat[len(ps):]:
            ax.set_axis_off()
        for ax, p in zip(flat, ps):
            run = noisy[noisy["label_noise"] == p]
            _curve(ax, run, "epoch", "clean_train_accuracy", "clean examples", CLEAN)
            if _curve(ax, run, "epoch", "corrupted_train_accuracy", "corrupted examples", CORRUPTED) is None:
                ax.text(0.5, 0.5, "no corrupted example", ha="center", va="center", transform=ax.transAxes, fontsize="small")
            ax.set_title(f"p = {p:g}", fontsize="medium")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("epoch")
            ax.grid(True, alpha=0.3)
        if ps:
            for ax in axes[:, 0]:
                ax.set_ylabel("train accuracy (labels trained on)")
            flat[0].legend(fontsize="small", loc="lower right")
        fig.suptitle("Memorization of corrupted labels" + seeds_note(frame))
        save_figure(fig, png)
    finally:
        plt.close(fig)


def plot(histories: Sequence[str], run_specs: Sequence[dict], summary_csv: str | Path, pngs: dict[str, str]) -> None:
    """All four figures; `pngs` maps FIGURES' keys to output paths."""
    plot_learning_curves(histories, run_specs, pngs["learning_curves"])
    plot_time_to_fit(summary_csv, pngs["time_to_fit"])
    plot_test_error(summary_csv, pngs["test_error"])
    plot_memorization(histories, run_specs, pngs["memorization"])
