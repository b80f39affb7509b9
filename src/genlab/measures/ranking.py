"""How well each flatness measure orders the generalization gaps, with the uncertainty of that order.

Inputs: measure CSVs (columns experiment, run, seed, measure, value, ...; one row per checkpoint
and measure) and the metrics CSVs of the runs (experiment, run, seed, ..., train_accuracy,
test_accuracy; one row per run and seed), joined on (experiment, run, seed); the generalization
gap is train_accuracy - test_accuracy.

The ranking (RANKING_COLUMNS, results/measures/ranking.csv), one row per measure:

    kendall_tau               Kendall's tau-b between the measure and the gap over its checkpoints
    tau_ci_low, tau_ci_high   95 % percentile bootstrap interval of tau: the checkpoints resampled with
                              replacement BOOTSTRAP_SAMPLES times (seed BOOTSTRAP_SEED, so reruns are
                              byte-identical), resamples without a tau (a constant variable) dropped
    n_checkpoints, n_runs     the checkpoints behind it and their distinct (experiment, run) pairs: the
                              seeds of one run are repeats of one configuration, not new ones
    n_unconverged             of those checkpoints, the estimates that did not converge (Lanczos, the ascent):
                              a ranking built on them says so
    predictor                 True when the interval excludes 0 and |tau| exceeds what ordering the
                              checkpoints at random reaches in 95 % of orderings (genlab.stats): a
                              perfectly ordered handful of points resamples to [1, 1], which alone says little

Sorted by |tau| descending (NaN last), then by measure name. Torch-free.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import GenlabError
from ..plots import read_table
from ..ranks import kendall_tau
from ..stats import bootstrap_interval, tau_null_halfwidth
from .rows import KEY

PathLike = str | os.PathLike

METRIC_COLUMNS = [*KEY, "train_accuracy", "test_accuracy"]
RANKING_COLUMNS = ["measure", "kendall_tau", "tau_ci_low", "tau_ci_high", "n_checkpoints", "n_runs", "n_unconverged",
                   "predictor"]
LEVEL = 0.95
BOOTSTRAP_SAMPLES = 2000  # percentile intervals need >= 1000 resamples (Efron and Tibshirani 1993)
BOOTSTRAP_SEED = 0
# A per-layer trace ("hessian_trace_conv2") names different layers in different architectures: it is
# kept in the table, but ranking it across all checkpoints would compare unlike things.
PER_LAYER_PREFIX = "hessian_trace_"


def paths_of(paths: PathLike | Sequence[PathLike]) -> list[PathLike]:
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


def read(paths: PathLike | Sequence[PathLike], columns: Sequence[str]) -> pd.DataFrame:
    """The CSVs stacked; each must have `columns`."""
    frames = [read_table(path, columns) for path in paths_of(paths)]
    if not frames:
        raise GenlabError("no CSV given")
    return pd.concat(frames, ignore_index=True)


def joined(measures_csv: PathLike | Sequence[PathLike], metrics_csvs: Sequence[PathLike]) -> pd.DataFrame:
    """Measure rows (finite values, per-layer traces left out) with their run's gap, and batch_size
    when the metrics have it; a checkpoint without a metrics row is left out."""
    measures = read(measures_csv, [*KEY, "measure", "value"])  # the columns it reads, not the whole table's
    metrics = read(metrics_csvs, METRIC_COLUMNS)
    if measures.empty:
        raise GenlabError(f"no measure rows in {', '.join(map(str, paths_of(measures_csv)))}")
    duplicated = metrics.duplicated(KEY)
    if duplicated.any():
        row = metrics[duplicated].iloc[0]
        raise GenlabError(
            f"metrics have several rows for experiment={row['experiment']} run={row['run']} seed={row['seed']}"
        )
    metrics = metrics.assign(gap=metrics["train_accuracy"] - metrics["test_accuracy"])
    keep = [*KEY, "gap"] + (["batch_size"] if "batch_size" in metrics.columns else [])
    carried = ["converged"] if "converged" in measures.columns else []
    rows = measures[[*KEY, "measure", "value", *carried]].merge(metrics[keep], on=KEY, how="inner")
    comparable = ~rows["measure"].str.startswith(PER_LAYER_PREFIX)
    return rows[comparable & np.isfinite(rows["value"]) & np.isfinite(rows["gap"])]


def tau_with_interval(values: Sequence[float], gaps: Sequence[float], samples: int = BOOTSTRAP_SAMPLES,
                      seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(tau, low, high): Kendall's tau-b of the pairs and its percentile bootstrap interval over pairs."""
    values, gaps = np.asarray(values, dtype=float), np.asarray(gaps, dtype=float)  # (N,), (N,)

    def resampled_tau(picked: list[int]) -> float:
        return kendall_tau(values[picked], gaps[picked])

    low, high = bootstrap_interval(range(len(values)), resampled_tau, samples, LEVEL, seed)
    return kendall_tau(values, gaps), low, high


def is_predictor(tau: float, low: float, high: float, n: int) -> bool:
    """The interval excludes 0 and |tau| is beyond the no-association range for n checkpoints."""
    if math.isnan(tau) or math.isnan(low) or math.isnan(high) or not (low > 0 or high < 0):
        return False
    return abs(tau) > tau_null_halfwidth(n, LEVEL)


def unconverged(group: pd.DataFrame) -> int:
    """Rows whose estimate says it did not converge (an empty cell: the measure has no such notion)."""
    if "converged" not in group.columns:
        return 0
    return int(group["converged"].astype(str).str.strip().str.lower().isin(["false", "0", "0.0"]).sum())


def _rank_key(row: dict) -> tuple:
    tau = row["kendall_tau"]
    return (math.isnan(tau), 0.0 if math.isnan(tau) else -abs(tau), row["measure"])


def rank(rows: pd.DataFrame) -> pd.DataFrame:
    """RANKING_COLUMNS of the joined rows (see joined), one row per measure, in ranking order."""
    found = []
    for measure, group in rows.groupby("measure", sort=True):
        tau, low, high = tau_with_interval(group["value"].to_numpy(), group["gap"].to_numpy())
        n = len(group)
        found.append({
            "measure": measure, "kendall_tau": tau, "tau_ci_low": low, "tau_ci_high": high, "n_checkpoints": n,
            "n_runs": len(group.drop_duplicates(["experiment", "run"])), "n_unconverged": unconverged(group),
            "predictor": is_predictor(tau, low, high, n),
        })
    found.sort(key=_rank_key)
    return pd.DataFrame(found, columns=RANKING_COLUMNS)


def ranking(measures_csv: PathLike | Sequence[PathLike], metrics_csvs: Sequence[PathLike]) -> pd.DataFrame:
    """RANKING_COLUMNS: how well each measure orders the gaps over the checkpoints having both."""
    return rank(joined(measures_csv, metrics_csvs))
