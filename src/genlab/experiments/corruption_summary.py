"""Experiment 5's summary table: time to fit and final metrics of every run, from its histories.

results/corruption/summary.csv has SUMMARY_COLUMNS, one row per run and seed (`write_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from ..columns import FINAL_METRICS, FIT_HISTORY_COLUMNS, SAMPLING_COLUMNS
from ..errors import GenlabError
from ..plots import read_table
from .corruption import CORRUPTIONS, NAME, SUMMARY_COLUMNS

# What a history must have (the sampling columns are read where present: older histories lack them).
HISTORY_COLUMNS = [c for c in FIT_HISTORY_COLUMNS if c not in SAMPLING_COLUMNS]

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
                "n_test_eval": hist["n_test_eval"].iloc[-1] if "n_test_eval" in hist else None,
            }
        )
    rows.sort(key=lambda r: (CORRUPTIONS.index(r["corruption"]), r["label_noise"], r["seed"]))  # stable
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    for column in ("epochs_to_fit", "steps_to_fit", "n_test_eval"):
        frame[column] = frame[column].astype("Int64")  # integers, missing as an empty cell
    return frame


def write_summary(histories: Sequence[str], run_specs: Sequence[dict], fit_threshold: float, out_csv: str | Path) -> None:
    frame = summary(histories, run_specs, fit_threshold)
    with atomic_path(out_csv) as tmp:
        # pandas writes floats as their shortest repr: a rerun compares byte for byte.
        frame.to_csv(tmp, index=False, lineterminator="\n")


def _histories_frame(histories: Sequence[str], run_specs: Sequence[dict]) -> pd.DataFrame:
    frames = []
    for path, spec in _pairs(histories, run_specs):
        corruption, noise = _checked_spec(spec, path)
        frames.append(_read(path, HISTORY_COLUMNS).assign(corruption=corruption, label_noise=noise))
    return pd.concat(frames, ignore_index=True)
