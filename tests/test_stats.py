"""Intervals behind the verdicts, against independent computations: enumeration, known answers, coverage."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from genlab import stats
from genlab.ranks import kendall_tau


@pytest.mark.parametrize("n", range(2, 8))
def test_permutation_distribution_of_tau_matches_enumeration(n):
    base = list(range(n))
    enumerated = sorted(kendall_tau(base, list(p)) for p in itertools.permutations(base))
    assert np.allclose(stats.kendall_null(n), enumerated)
    assert len(stats.kendall_null(n)) == math.factorial(n)


def test_a_perfect_ranking_of_three_points_is_weak_evidence():
    tau, low, high = stats.tau_interval([1, 2, 3], [10, 20, 30])
    assert (tau, low, high) == (1.0, 0.0, 1.0)  # one ordering in six: chance at 17 %
    assert stats.verdict(low, high, 0.0) == stats.INCONCLUSIVE
    tau, low, high = stats.tau_interval(range(6), [1, 2, 3, 4, 5, 6])
    assert low == pytest.approx(1 - 11 / 15) and stats.verdict(low, high, 0.0) == stats.HELD  # 1 in 360 by chance
    # The half-width is the smallest c with P(|tau| > c) <= 5 % under the permutation distribution.
    for n in range(3, 8):
        null = np.abs(np.array(stats.kendall_null(n)))
        c = stats.tau_null_halfwidth(n)
        assert np.mean(null > c + 1e-12) <= 0.05
        smaller = null[null < c - 1e-12]
        if len(smaller):
            assert np.mean(null > smaller.max() + 1e-12) > 0.05


def test_verdict_is_held_only_when_the_whole_interval_is_on_the_claimed_side():
    assert stats.verdict(0.96, 0.99, 0.95) == stats.HELD
    assert stats.verdict(0.90, 0.94, 0.95) == stats.NOT_HELD
    assert stats.verdict(0.94, 0.96, 0.95) == stats.INCONCLUSIVE
    assert stats.verdict(0.01, 0.04, 0.05, rising=False) == stats.HELD
    assert stats.verdict(0.06, 0.09, 0.05, rising=False) == stats.NOT_HELD
    assert stats.verdict(math.nan, 1.0, 0.0) == stats.INCONCLUSIVE
    assert stats.combined([stats.HELD, stats.INCONCLUSIVE]) == stats.INCONCLUSIVE
    assert stats.combined([stats.HELD, stats.NOT_HELD, stats.INCONCLUSIVE]) == stats.NOT_HELD


def test_bootstrap_over_units_covers_the_true_mean_about_95_times_in_100():
    rng = np.random.default_rng(1)
    covered = 0
    for trial in range(100):
        units = list(rng.normal(3.0, 1.0, size=40))
        low, high = stats.bootstrap_interval(units, lambda picked: float(np.mean(picked)), samples=400, seed=trial)
        covered += low <= 3.0 <= high
    assert 88 <= covered <= 99
    assert all(math.isnan(v) for v in stats.bootstrap_interval([1.0], np.mean))


def test_sampling_error_interval_of_an_accuracy_is_the_binomial_one():
    frame = pd.DataFrame({"seed": [0], "accuracy": [0.9], "n": [400]})
    low, high = stats.claim_interval(frame, lambda f: float(f["accuracy"].iloc[0]), {"accuracy": ("binomial", "n")},
                                     samples=4000)
    half = 1.96 * math.sqrt(0.9 * 0.1 / 400)
    assert low == pytest.approx(0.9 - half, abs=0.004) and high == pytest.approx(0.9 + half, abs=0.004)


def test_a_loss_drawn_log_normally_stays_positive_with_its_mean_and_error():
    frame = pd.DataFrame({"seed": [0] * 2000, "loss": [0.01] * 2000, "se": [0.004] * 2000})
    drawn = stats.jittered(frame, np.random.default_rng(0), {"loss": "se"})["loss"]
    assert (drawn > 0).all()
    assert drawn.mean() == pytest.approx(0.01, rel=0.03) and drawn.std() == pytest.approx(0.004, rel=0.1)


def test_claim_interval_bootstraps_whole_seeds_when_there_are_several():
    frame = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "value": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]})
    low, high = stats.claim_interval(frame, lambda f: float(f["value"].mean()), {}, samples=500)
    assert 1.0 <= low < 2.0 < high <= 3.0
    assert stats.claim_interval(frame, lambda f: float(f["value"].mean()), {}, samples=500) == (low, high)  # seeded
