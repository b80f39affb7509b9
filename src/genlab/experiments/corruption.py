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
tables      results/runs/corruption/{run}/seed{k}/history.csv (genlab.columns.FIT_HISTORY_COLUMNS, one
            row per epoch), results/corruption/summary.csv (SUMMARY_COLUMNS: time to fit, final metrics;
            corruption_summary.write_summary)
figures     FIGURES, drawn from those CSVs only (corruption_figures)
claims      time_to_fit_rises, test_error_rises (summary), clean_before_corrupted (histories)
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd

from .. import evidence as ev
from .. import stats
from ..columns import FINAL_METRICS
from ..config import TrainConfig
from ..errors import GenlabError
from ._shared import check_batch_size, history_paths, named_spec, runs, section_config, standard_outputs, summary_job

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
SUMMARY_COLUMNS = ["corruption", "label_noise", "seed", "epochs_to_fit", "steps_to_fit", *FINAL_METRICS, "n_test_eval"]

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
    return named_spec(NAME, _specs(section), run)


def all_runs(config: dict) -> list[tuple[str, int]]:
    return runs(config, NAME)


def histories(config: dict) -> list[str]:
    """Every run's history, in plan order (run_specs gives the run of each)."""
    return history_paths(config, NAME)


def run_specs(config: dict) -> list[dict]:
    """run_spec of every run and seed, in plan order (the order of the history files)."""
    return [run_spec(config[NAME], run) for run, seed in all_runs(config)]


def check(config: dict) -> None:
    """The cross-key rules (ranges, names and duplicates are the schema's); one-line GenlabError naming the key."""
    section = config[NAME]
    key = f"config key {NAME}"
    if not section["label_noise"] and not section["input_corruptions"]:
        raise GenlabError(f"{key}: label_noise and input_corruptions are both empty, no run to train")
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
        config, NAME, run, seed, arch=ARCH, permuted_labels=False,
        label_noise=params["label_noise"], input_corruption=params["input_corruption"],
        fit_threshold=float(config[NAME]["fit_threshold"]),
    )


def subset_name(run: str) -> str:
    """Every run trains on its own corruption of the same images: results/subsets/corruption_{run}.pt."""
    return f"{NAME}_{run}"


def outputs(config: dict) -> list[str]:
    return [*standard_outputs(NAME, FIGURES), SUMMARY_CSV]


def jobs(config: dict, cost) -> list[dict]:
    return summary_job(NAME, cost)


# ---------------------------------------------------------------- claims

# The accuracy that counts as having fitted a label group (clean or corrupted) in a history.
GROUP_FIT_ACCURACY = 0.9
CLAIM_SUMMARY_COLUMNS = ["corruption", "label_noise", "seed", "steps_to_fit", "test_accuracy"]
# The histories need not carry label_noise (the workflow knows each run's p from its name).
CLAIM_HISTORY_COLUMNS = ["epoch", "seed", "clean_train_accuracy", "corrupted_train_accuracy"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    """The summary, and the histories of the label runs with 0 < p < 1 (clean_before_corrupted is about them)."""
    mixed = [
        path for path, spec in zip(histories(config), run_specs(config))
        if spec["corruption"] == "labels" and 0 < spec["label_noise"] < 1
    ]
    return {"summary": [SUMMARY_CSV], "histories": mixed}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    summary = ev.table(inputs, "summary", CLAIM_SUMMARY_COLUMNS)
    runs = ev.table(inputs, "histories", CLAIM_HISTORY_COLUMNS, with_path=True)
    if summary is None and runs is None:
        return []
    return judge(summary[0] if summary else None, runs[0] if runs else None,
                 summary[1] if summary else "corruption summary", runs[1] if runs else "corruption histories")


def judge(
    summary: pd.DataFrame | None = None, histories: pd.DataFrame | None = None,
    source: str = "corruption summary", histories_source: str = "corruption histories",
) -> list[dict]:
    """time_to_fit_rises and test_error_rises (from the summary's `labels` runs), and
    clean_before_corrupted (from the label runs' histories). A run that never fitted took
    infinitely many steps; a label group that never reached GROUP_FIT_ACCURACY, infinitely many epochs.
    Rises are Kendall's tau over the noise levels with its exact permutation interval (three levels
    cannot show a rise beyond chance: inconclusive)."""
    out = []
    if summary is not None:
        df = ev.checked(summary, CLAIM_SUMMARY_COLUMNS, source)
        df = df[df["corruption"].astype(str) == "labels"]
        if not df.empty:
            df = ev.numeric(df, ["label_noise", "seed", "steps_to_fit", "test_accuracy"], source, allow_empty=["steps_to_fit"])
            df["label_noise"] = df["label_noise"].round(9)
            df["steps_to_fit"] = df["steps_to_fit"].fillna(math.inf)
            df["test_error"] = 1.0 - df["test_accuracy"]
            levels = df.groupby("label_noise")[["steps_to_fit", "test_error"]].mean().sort_index()
            noise = levels.index.to_numpy()
            n_seeds = df["seed"].nunique()
            note = ev.seeds_note(n_seeds)
            listing = ", ".join(f"p={p:g}: {s:.0f}" for p, s in zip(noise, levels["steps_to_fit"]))
            steps = levels["steps_to_fit"].to_numpy()
            monotone = bool(np.all(steps[1:] >= steps[:-1])) if len(steps) > 1 else False
            out.append(ev.ranked(NAME, "time_to_fit_rises", noise, steps, +1,
                                 f"steps to fit (inf: never fitted) {listing}, "
                                 f"{'non-decreasing' if monotone else 'not non-decreasing'} in label noise",
                                 f"{len(noise)} noise levels", n_seeds, note))
            out.append(_test_error_rises(df, levels, n_seeds, note))
    if histories is not None:
        out.append(_clean_before_corrupted(histories, histories_source))
    return out


def _test_error_rises(df: pd.DataFrame, levels: pd.DataFrame, n_seeds: int, note: str) -> dict:
    """Test error rising with the noise (tau, permutation interval) to chance at p = 1 (binomial interval)."""
    noise, errors = levels.index.to_numpy(), levels["test_error"].to_numpy()
    rank = ev.ranked(NAME, "test_error_rises", noise, errors, +1, "test error vs label noise", f"{len(noise)} noise levels", n_seeds)
    text = f"test error {ev.acc(errors[0])} at p={noise[0]:g} -> {ev.acc(errors[-1])} at p={noise[-1]:g}; {rank['evidence']}"
    if 1.0 not in levels.index:
        return ev.claim(NAME, "test_error_rises", stats.INCONCLUSIVE, text + "; no run at label noise 1 to compare with chance" + note,
                        rank["effect"], rank["ci_low"], rank["ci_high"], n_seeds)
    at_one = df[df["label_noise"] == 1.0]
    chance = 1 - ev.CHANCE_ACCURACY
    if "n_test_eval" in at_one.columns or n_seeds > 1:
        at_one = ev.numeric(at_one, ["n_test_eval"], "corruption summary") if "n_test_eval" in at_one.columns else at_one
        low, high = stats.claim_interval(at_one, lambda f: abs(f["test_error"].mean() - chance),
                                         {"test_error": ("binomial", "n_test_eval")})
    else:
        low, high = math.nan, math.nan
    distance = abs(levels["test_error"].loc[1.0] - chance)
    text += (f"; at p=1 {ev.acc(levels['test_error'].loc[1.0])}, {ev.acc(distance)} from chance {ev.acc(chance)} "
             f"[{ev.acc(low)}, {ev.acc(high)}] (need within {ev.acc(ev.CHANCE_BAND)})")
    both = stats.combined([rank["verdict"], stats.verdict(low, high, ev.CHANCE_BAND, rising=False)])
    return ev.claim(NAME, "test_error_rises", both, text + note, rank["effect"], rank["ci_low"], rank["ci_high"], n_seeds)


def _lead(h: pd.DataFrame, keys: list[str]) -> float:
    """The smallest lead, over runs with both groups, of the epoch the corrupted examples reached
    GROUP_FIT_ACCURACY over the clean ones' (never reached: one epoch after the last)."""
    leads = []
    for _, run in h.groupby(keys, sort=True):
        if run[CLEAN].isna().all() or run[CORRUPTED].isna().all():
            continue  # p = 0 or p = 1: only one group
        clean, corrupted = (_first_epoch(run, c) for c in (CLEAN, CORRUPTED))
        leads.append(corrupted - clean)
    return float(min(leads)) if leads else math.nan


CLEAN, CORRUPTED = "clean_train_accuracy", "corrupted_train_accuracy"


def _clean_before_corrupted(histories: pd.DataFrame, source: str) -> dict:
    """A run with 0 < p < 1 is one with both a clean and a corrupted group (both columns filled):
    the history need not say p. A run is one `path` (collect_claims adds it: one file per run)
    and seed, or one label_noise and seed; label_noise, when present, names the run. The effect is
    the smallest lead in epochs; its interval comes from the binomial error of each group's accuracy
    (the corrupted group taken as 0.9 p of the evaluated examples, half of them where p is unknown)."""
    h = ev.checked(histories, CLAIM_HISTORY_COLUMNS, source)
    numeric = CLAIM_HISTORY_COLUMNS + [c for c in ("label_noise", "n_train_eval") if c in h.columns]
    h = ev.numeric(h, numeric, source, allow_empty=[CLEAN, CORRUPTED])
    keys = [c for c in ("path", "label_noise", "seed") if c in h.columns]
    if h.duplicated([*keys, "epoch"]).any():
        raise GenlabError(f"{source}: an epoch appears twice for one run (runs told apart by {', '.join(keys)})")
    failing, n_runs = [], 0
    for key, run in h.groupby(keys, sort=True):
        if run[CLEAN].isna().all() or run[CORRUPTED].isna().all():
            continue
        n_runs += 1
        clean, corrupted = (_first_epoch(run, c) for c in (CLEAN, CORRUPTED))
        if not clean < corrupted:
            named = dict(zip(keys, key))
            name = (f"p={named['label_noise']:g}" if "label_noise" in named else str(named["path"]))
            failing.append(f"{name} seed {int(named['seed'])} (clean epoch {clean:.0f}, corrupted {corrupted:.0f})")
    if not n_runs:
        return ev.untestable(NAME, "clean_before_corrupted", "no label run with 0 < p < 1")
    n_seeds = h["seed"].nunique()
    if "n_train_eval" in h.columns:
        share = 0.9 * h["label_noise"] if "label_noise" in h.columns else 0.5
        h = h.assign(n_corrupted=h["n_train_eval"] * share, n_clean=h["n_train_eval"] * (1 - share))
        interval = stats.claim_interval(h, lambda f: _lead(f, keys),
                                        {CLEAN: ("binomial", "n_clean"), CORRUPTED: ("binomial", "n_corrupted")})
    else:
        interval = (math.nan, math.nan)
    text = (f"clean train accuracy reached {ev.acc(GROUP_FIT_ACCURACY)} before corrupted in "
            f"{n_runs - len(failing)} of {n_runs} runs with 0 < p < 1 (never reached: one epoch after the last); "
            "the smallest lead in epochs")
    if failing:
        text += "; not in " + ", ".join(failing[:3]) + (f" and {len(failing) - 3} more" if len(failing) > 3 else "")
    # Leads are whole epochs: held from one epoch ahead (the interval above 0.5), not held at none.
    return ev.judged(NAME, "clean_before_corrupted", _lead(h, keys), interval, 0.5, True, n_seeds, text)


def _first_epoch(run: pd.DataFrame, column: str) -> float:
    """The first epoch a group's accuracy reached GROUP_FIT_ACCURACY; one after the last if never."""
    reached = run.loc[run[column] >= GROUP_FIT_ACCURACY, "epoch"]
    return float(reached.min()) if len(reached) else float(run["epoch"].max() + 1)
