"""How well measures predict the generalization gap over a zoo of runs: Jiang et al. 2019's protocol.

Input: a tidy table of runs, one row per run, with hyperparameter columns, `gap` (the generalization
gap) and one column per measure (`wide_runs` makes it from long rows: measure, value). Per measure
(PROTOCOL_COLUMNS, then psi_<hparam> per hyperparameter, then `invariant` when given):

    tau, tau_ci_low, tau_ci_high   Kendall's tau-b of measure and gap over all runs, with its 95 %
                                   percentile bootstrap interval over runs (genlab.measures.ranking)
    psi, psi_ci_low, psi_ci_high   Jiang et al.'s granulated Kendall coefficient (their Sec. 5):
                                   psi_i = the mean tau over the groups of runs that share every
                                   hyperparameter but i, Psi = the mean of the psi_i; its interval a
                                   bootstrap over runs too
    psi_<hparam>                   each psi_i
    cmi                            Jiang et al.'s conditional-mutual-information test (their Sec. 6):
                                   min over the sets S of at most two hyperparameters of
                                   I(V_mu; V_g | U_S) / H(V_g | U_S), over ordered pairs of runs, with
                                   V = sign of the pair's difference of measure (of gap) and U_S the
                                   pair's values of the hyperparameters in S, both runs'
    n_runs                         runs with a finite measure and gap

Within a group, a measure that is constant while the gap is not orders nothing: its tau counts
as 0 (Jiang et al.'s sign-product tau), not as undefined; a group whose gap is constant says
nothing and is left out. Sorted by psi, then tau, descending (NaN last). Torch-free.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import GenlabError
from ..ranks import kendall_tau
from ..stats import bootstrap_interval
from .ranking import BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, LEVEL, tau_with_interval

PROTOCOL_COLUMNS = ["measure", "tau", "tau_ci_low", "tau_ci_high", "psi", "psi_ci_low", "psi_ci_high"]


def wide_runs(rows: pd.DataFrame, hparams: Sequence[str], gap: str = "gap") -> pd.DataFrame:
    """Long rows (hparams, gap, measure, value; one per run and measure) as one row per run and a column per measure."""
    missing = [c for c in [*hparams, gap, "measure", "value"] if c not in rows.columns]
    if missing:
        raise GenlabError(f"run table lacks the columns {', '.join(missing)}")
    return rows.pivot_table(index=[*hparams, gap], columns="measure", values="value", aggfunc="first").reset_index()


def group_codes(runs: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """An integer per run, equal for runs that agree on every one of `columns` (all 0 for none)."""
    if not columns:
        return np.zeros(len(runs), dtype=np.int64)
    return runs.groupby(list(columns), sort=True, dropna=False).ngroup().to_numpy()


def group_tau(values: np.ndarray, gaps: np.ndarray) -> float:
    """tau within one group: NaN (left out) when the gap is constant, 0 when only the measure is."""
    if len(values) < 2 or np.all(gaps == gaps[0]):
        return math.nan
    if np.all(values == values[0]):
        return 0.0
    return kendall_tau(values, gaps)


def granulated(values: np.ndarray, gaps: np.ndarray, codes: dict[str, np.ndarray]) -> dict[str, float]:
    """{hparam: psi_i} for codes {hparam: group_codes(runs, every other hparam)}, and "psi": their mean."""
    found = {}
    for hparam, code in codes.items():
        taus = [group_tau(values[code == c], gaps[code == c]) for c in np.unique(code)]
        taus = [t for t in taus if not math.isnan(t)]
        found[hparam] = float(np.mean(taus)) if taus else math.nan
    defined = [v for v in found.values() if not math.isnan(v)]
    return {**found, "psi": float(np.mean(defined)) if defined else math.nan}


def conditional_information(values: np.ndarray, gaps: np.ndarray, condition: np.ndarray) -> float:
    """I(V_mu; V_g | U) / H(V_g | U) over ordered pairs of distinct runs, pairs with a tie in either left out;
    U = (condition[i], condition[j]). NaN when the gap's sign is determined by U (H = 0)."""
    i, j = np.nonzero(~np.eye(len(values), dtype=bool))
    v_mu, v_g = np.sign(values[i] - values[j]), np.sign(gaps[i] - gaps[j])
    keep = (v_mu != 0) & (v_g != 0)
    pairs = pd.DataFrame({"u": condition[i][keep] * (condition.max() + 1) + condition[j][keep],
                          "m": v_mu[keep], "g": v_g[keep]})
    if pairs.empty:
        return math.nan
    n = len(pairs)
    joint = pairs.groupby(["u", "m", "g"]).size().rename("n_umg").reset_index()
    joint = joint.merge(pairs.groupby("u").size().rename("n_u").reset_index(), on="u")
    joint = joint.merge(pairs.groupby(["u", "m"]).size().rename("n_um").reset_index(), on=["u", "m"])
    joint = joint.merge(pairs.groupby(["u", "g"]).size().rename("n_ug").reset_index(), on=["u", "g"])
    information = float((joint["n_umg"] / n * np.log(joint["n_umg"] * joint["n_u"] / (joint["n_um"] * joint["n_ug"]))).sum())
    gap_signs = joint.drop_duplicates(["u", "g"])
    entropy = float(-(gap_signs["n_ug"] / n * np.log(gap_signs["n_ug"] / gap_signs["n_u"])).sum())
    return information / entropy if entropy > 1e-12 else math.nan


def cmi_test(values: np.ndarray, gaps: np.ndarray, runs: pd.DataFrame, hparams: Sequence[str]) -> float:
    """Jiang et al.'s K(mu): the minimum over every S of at most two hparams (the empty set too) of the
    normalised conditional mutual information; NaN when no S gives one."""
    found = [
        conditional_information(values, gaps, group_codes(runs, list(subset)))
        for size in range(min(2, len(hparams)) + 1)
        for subset in itertools.combinations(hparams, size)
    ]
    found = [v for v in found if not math.isnan(v)]
    return min(found) if found else math.nan


def rank_measure(runs: pd.DataFrame, measure: str, hparams: Sequence[str], gap: str = "gap",
                 samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """One row of the protocol table for one measure column of runs."""
    runs = runs[np.isfinite(runs[measure].astype(float)) & np.isfinite(runs[gap].astype(float))].reset_index(drop=True)
    values, gaps = runs[measure].to_numpy(dtype=float), runs[gap].to_numpy(dtype=float)
    codes = {h: group_codes(runs, [o for o in hparams if o != h]) for h in hparams}
    tau, tau_low, tau_high = tau_with_interval(values, gaps, samples, seed)
    psi = granulated(values, gaps, codes)

    def resampled_psi(picked: list[int]) -> float:
        return granulated(values[picked], gaps[picked], {h: c[picked] for h, c in codes.items()})["psi"]

    psi_low, psi_high = bootstrap_interval(range(len(values)), resampled_psi, samples, LEVEL, seed)
    return {
        "measure": measure, "tau": tau, "tau_ci_low": tau_low, "tau_ci_high": tau_high,
        "psi": psi["psi"], "psi_ci_low": psi_low, "psi_ci_high": psi_high,
        **{f"psi_{h}": psi[h] for h in hparams},
        "cmi": cmi_test(values, gaps, runs, hparams), "n_runs": len(runs),
    }


def rank_measures(runs: pd.DataFrame, hparams: Sequence[str], measures: Sequence[str] | None = None, gap: str = "gap",
                  invariant: dict[str, bool | None] | None = None, samples: int = BOOTSTRAP_SAMPLES,
                  seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """The protocol table of runs (one row per run): one row per measure (default: every column that is
    neither a hyperparameter nor the gap), sorted. invariant {measure: bool} (genlab.measures.is_invariant)
    adds that column."""
    missing = [c for c in [*hparams, gap] if c not in runs.columns]
    if missing:
        raise GenlabError(f"run table lacks the columns {', '.join(missing)}")
    measures = [c for c in runs.columns if c not in (*hparams, gap)] if measures is None else list(measures)
    found = pd.DataFrame([rank_measure(runs, m, hparams, gap, samples, seed) for m in measures],
                         columns=[*PROTOCOL_COLUMNS, *(f"psi_{h}" for h in hparams), "cmi", "n_runs"])
    if invariant is not None:
        found["invariant"] = [invariant.get(m) for m in found["measure"]]
    order = found.assign(_psi=found["psi"].fillna(-np.inf), _tau=found["tau"].fillna(-np.inf))
    return found.loc[order.sort_values(["_psi", "_tau", "measure"], ascending=[False, False, True]).index].reset_index(drop=True)
