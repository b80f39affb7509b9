"""How sure a claim is: intervals for its effect, from the runs and examples behind it.

Three sources of uncertainty, each with its interval (95 % unless `level` says otherwise):

- across seeds, when there are several: `bootstrap_interval` resamples whole runs (seeds) with
  replacement and takes percentiles of the statistic (Efron's percentile bootstrap);
- within one run, where the quantity is a mean over evaluated examples (an accuracy, a loss):
  `mean_interval` is the normal interval of that mean, from its standard error (for an accuracy the
  binomial one, sqrt(p (1 - p) / n));
- for a rank correlation over few points (six batch sizes, three noise levels): `tau_interval`
  centres on the observed Kendall tau the half-width of the central range that tau takes under
  the exact permutation distribution (no association), so a perfect ranking of three points,
  which one ordering in six gives by chance, gets an interval reaching 0.

`verdict` turns an interval into held / not_held / inconclusive against a threshold.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from .ranks import kendall_tau

HELD, NOT_HELD, INCONCLUSIVE = "held", "not_held", "inconclusive"
LEVEL = 0.95
Z = {0.9: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}
EXACT_MAX_N = 8  # 8! = 40320 permutations: enumerated; above, Kendall's normal approximation
BOOTSTRAP_SAMPLES = 2000


def verdict(low: float, high: float, threshold: float, rising: bool = True) -> str:
    """held when the whole interval lies strictly on the claimed side of the threshold (above it when
    `rising`, else below), not_held when it lies strictly on the other side, else (or NaN) inconclusive."""
    if math.isnan(low) or math.isnan(high):
        return INCONCLUSIVE
    claimed, other = (low > threshold, high < threshold) if rising else (high < threshold, low > threshold)
    return HELD if claimed else NOT_HELD if other else INCONCLUSIVE


@lru_cache(maxsize=None)
def kendall_null(n: int) -> tuple[float, ...]:
    """Kendall's tau of every ordering of n distinct points against 0..n-1: its exact distribution
    under no association (each value once per permutation), sorted."""
    if n < 2:
        return ()
    perms = np.array(list(itertools.permutations(range(n))))  # (n!, n)
    i, j = np.triu_indices(n, k=1)
    inversions = (perms[:, i] > perms[:, j]).sum(axis=1)  # tau = 1 - 4 inversions / (n (n - 1)), no ties
    return tuple(sorted((1.0 - 4.0 * inversions / (n * (n - 1))).tolist()))


def tau_null_halfwidth(n: int, level: float = LEVEL) -> float:
    """The smallest c with P(|tau| > c) <= 1 - level under no association, for n distinct points."""
    if n < 2:
        return math.nan
    if n <= EXACT_MAX_N:
        values = np.abs(np.array(kendall_null(n)))
        for c in np.unique(values):
            if np.mean(values > c + 1e-12) <= 1 - level:
                return float(c)
        return 1.0
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    return min(1.0, Z.get(level, 1.959963984540054) * sd)


def tau_interval(x: Sequence[float], y: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """(tau, low, high): Kendall's tau-b of the pairs and tau +- the null half-width, clipped to [-1, 1]."""
    tau = kendall_tau(x, y)
    n = int(np.sum(~(np.isnan(np.asarray(x, float)) | np.isnan(np.asarray(y, float)))))
    c = tau_null_halfwidth(n, level)
    if math.isnan(tau) or math.isnan(c):
        return tau, math.nan, math.nan
    # Rounded: tau and c are ratios of small integers, and 1 - 11/15 - (1 - 11/15) must print as 0.
    return tau, max(-1.0, round(tau - c, 12)), min(1.0, round(tau + c, 12))


def mean_interval(mean: float, std_error: float, level: float = LEVEL) -> tuple[float, float]:
    """The normal interval mean +- z * std_error."""
    half = Z.get(level, 1.959963984540054) * std_error
    return mean - half, mean + half


def accuracy_std_error(accuracy: float, n: int) -> float:
    """Binomial standard error of an accuracy measured on n examples."""
    return math.sqrt(max(accuracy * (1 - accuracy), 0.0) / n) if n > 0 else math.nan


def bootstrap_interval(
    units: Sequence, statistic: Callable[[list], float], samples: int = BOOTSTRAP_SAMPLES,
    level: float = LEVEL, seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of statistic(resampled units), whole units (runs, seeds) drawn with
    replacement; NaN for fewer than two units (a bootstrap of one run says nothing)."""
    units = list(units)
    if len(units) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        picked = [units[i] for i in rng.integers(0, len(units), len(units))]
        value = statistic(picked)
        if not math.isnan(value):
            values.append(value)
    if not values:
        return math.nan, math.nan
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def combined(verdicts: Sequence[str]) -> str:
    """A claim of several conditions: held when all hold, not_held when any does not, else inconclusive."""
    if all(v == HELD for v in verdicts):
        return HELD
    return NOT_HELD if NOT_HELD in verdicts else INCONCLUSIVE


def jittered(frame, rng: np.random.Generator, noise: dict):
    """A copy of frame with each measured mean drawn from its sampling distribution. noise maps a value
    column to ("binomial", n column) for an accuracy over n examples (normal, clipped to [0, 1]), or to
    a standard-error column: a positive mean (a loss) is drawn log-normally with that relative error,
    so a small loss stays positive and a ratio of losses stays meaningful."""
    out = frame.copy()
    for column, source in noise.items():
        values = out[column].to_numpy(dtype=float)
        draw = rng.standard_normal(len(values))
        if isinstance(source, tuple):
            n = out[source[1]].to_numpy(dtype=float)
            se = np.sqrt(np.clip(values * (1 - values), 0, None) / np.where(n > 0, n, np.nan))
            out[column] = np.clip(values + draw * np.nan_to_num(se), 0.0, 1.0)
        else:
            se = np.nan_to_num(out[source].to_numpy(dtype=float))
            positive = values > 0
            relative = np.where(positive, se / np.where(positive, values, 1.0), 0.0)
            out[column] = np.where(positive, values * np.exp(draw * relative - relative**2 / 2), values + draw * se)
    return out


CLAIM_SAMPLES = 400  # draws per claim interval: its ends move by about 0.01 of its width between seeds


def claim_interval(frame, statistic: Callable, noise: dict, seed_column: str = "seed",
                   samples: int | None = None, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """The interval of statistic(frame): with several seeds, a bootstrap over seeds (whole runs,
    relabelled so a seed drawn twice counts twice); with one, over the sampling error of every
    measured mean in it (`jittered`). CLAIM_SAMPLES draws unless `samples`; the same seed gives
    the same interval."""
    samples = samples or CLAIM_SAMPLES
    seeds = list(dict.fromkeys(frame[seed_column]))
    if len(seeds) >= 2:
        groups = [frame[frame[seed_column] == s] for s in seeds]

        def resampled(picked: list) -> float:
            import pandas as pd

            return statistic(pd.concat([g.assign(**{seed_column: i}) for i, g in enumerate(picked)], ignore_index=True))

        return bootstrap_interval(groups, resampled, samples=samples, level=level, seed=seed)
    rng = np.random.default_rng(seed)
    values = [v for v in (statistic(jittered(frame, rng, noise)) for _ in range(samples)) if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))
