"""Rank correlations, computed here (pandas' own need scipy, which genlab does not depend on)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import GenlabError


def _ranks(values: np.ndarray) -> np.ndarray:
    return pd.Series(values, dtype=float).rank(method="average").to_numpy()


def _ranked_pairs(x: Iterable[float], y: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks of the pairs where neither value is NaN; inf ranks above every finite value."""
    x, y = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise GenlabError(f"a rank correlation needs two 1-D sequences of equal length, got shapes {x.shape} and {y.shape}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return _ranks(x[keep]), _ranks(y[keep])


def kendall_tau(x: Iterable[float], y: Iterable[float]) -> float:
    """Kendall's tau-b (ties in either variable handled); NaN for fewer than 2 points or a constant variable."""
    rx, ry = _ranked_pairs(x, y)
    i, j = np.triu_indices(len(rx), k=1)
    dx, dy = np.sign(rx[i] - rx[j]), np.sign(ry[i] - ry[j])
    denominator = math.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float(np.sum(dx * dy) / denominator) if denominator else math.nan


def spearman_rho(x: Iterable[float], y: Iterable[float]) -> float:
    """Pearson correlation of average ranks; NaN for fewer than 2 points or a constant variable."""
    rx, ry = _ranked_pairs(x, y)
    if len(rx) < 2:
        return math.nan
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = math.sqrt(float(np.sum(rx * rx) * np.sum(ry * ry)))
    return float(np.clip(np.sum(rx * ry) / denominator, -1.0, 1.0)) if denominator else math.nan
