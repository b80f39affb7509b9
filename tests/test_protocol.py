"""Jiang et al.'s ranking protocol on synthetic zoos whose answer is built in."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from genlab.measures.protocol import conditional_information, granulated, group_codes, rank_measures, wide_runs

SAMPLES = 100  # bootstrap resamples (the default is 2000): enough to place an interval around 0 or 1 here, and fast


def zoo(seed: int = 0) -> pd.DataFrame:
    """Two hyperparameters on a 6 x 5 grid, one run each; the gap grows with both, plus a little noise."""
    rng = np.random.default_rng(seed)
    runs = pd.DataFrame([{"depth": d, "lr": lr} for d, lr in itertools.product(range(6), range(5))])
    runs["gap"] = runs["depth"] + 0.7 * runs["lr"] + 0.05 * rng.standard_normal(len(runs))
    runs["oracle"] = runs["gap"]
    runs["depth_only"] = runs["depth"].astype(float)
    runs["random"] = rng.standard_normal(len(runs))
    return runs


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return rank_measures(zoo(), ["depth", "lr"], samples=SAMPLES, invariant={"oracle": True})


def test_a_measure_equal_to_the_gap_ranks_first_with_everything_one(table):
    assert list(table.columns) == ["measure", "tau", "tau_ci_low", "tau_ci_high", "psi", "psi_ci_low", "psi_ci_high",
                                   "psi_depth", "psi_lr", "cmi", "n_runs", "invariant"]
    best = table.iloc[0]
    assert best["measure"] == "oracle" and best["invariant"] is True and best["n_runs"] == 30
    for column in ("tau", "tau_ci_low", "tau_ci_high", "psi", "psi_depth", "psi_lr", "psi_ci_low", "cmi"):
        assert best[column] == pytest.approx(1.0), column


def test_a_measure_of_one_hyperparameter_has_psi_zero_for_the_others(table):
    row = table.set_index("measure").loc["depth_only"]
    assert row["psi_lr"] == 0.0  # within a depth, it is constant: it orders nothing
    assert row["psi_depth"] == pytest.approx(1.0)  # across depths at fixed lr it orders the gap perfectly
    assert row["psi"] == pytest.approx(0.5) and row["tau"] > 0.5
    assert row["cmi"] == pytest.approx(0.0, abs=1e-12)  # knowing both runs' depths, it adds nothing


def test_a_random_measure_has_tau_near_zero_with_an_interval_around_it(table):
    row = table.set_index("measure").loc["random"]
    assert abs(row["tau"]) < 0.25 and row["tau_ci_low"] < 0 < row["tau_ci_high"]
    assert row["psi_ci_low"] < 0 < row["psi_ci_high"] and row["cmi"] < 0.1


def test_psi_by_hand_on_a_two_by_two_grid():
    # Groups sharing lr: {a, b} and {c, d}; sharing depth: {a, c} and {b, d}.
    runs = pd.DataFrame({"depth": [0, 1, 0, 1], "lr": [0, 0, 1, 1], "gap": [1.0, 2.0, 3.0, 4.0]})
    values = np.array([5.0, 6.0, 8.0, 7.0])  # agrees across depth at lr 0, disagrees at lr 1; agrees across lr
    codes = {"depth": group_codes(runs, ["lr"]), "lr": group_codes(runs, ["depth"])}
    found = granulated(values, runs["gap"].to_numpy(), codes)
    assert found == {"depth": 0.0, "lr": 1.0, "psi": 0.5}


def test_conditional_information_by_hand():
    # Without conditioning: V_g is a fair coin over the 12 ordered pairs; V_mu agrees with it on 8 of them.
    gaps, values = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0])
    agree = 10 / 12  # pairs (i, j), i != j: only (2, 3) and (3, 2) disagree -> 10 of 12 agree
    p = np.array([agree / 2, (1 - agree) / 2])  # joint of (V_mu, V_g) on each diagonal / off-diagonal cell
    information = 2 * (p * np.log(p / 0.25)).sum()
    assert conditional_information(values, gaps, np.zeros(4, dtype=int)) == pytest.approx(information / math.log(2))
    assert math.isnan(conditional_information(values, gaps, np.arange(4)))  # U names the pair: no entropy left


def test_long_rows_become_one_row_per_run():
    long = pd.DataFrame({"depth": [0, 0, 1, 1], "gap": [0.1, 0.1, 0.3, 0.3], "measure": ["a", "b", "a", "b"],
                         "value": [1.0, 2.0, 3.0, 4.0]})
    wide = wide_runs(long, ["depth"])
    assert list(wide.columns) == ["depth", "gap", "a", "b"] and wide["b"].tolist() == [2.0, 4.0]
