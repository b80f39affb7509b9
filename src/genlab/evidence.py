"""What every claim is built from: reading its tables, checking columns, formatting numbers, one row per claim.

A claim row is {experiment, claim, held, evidence}: `claim` a stable id, `evidence` the numbers the
verdict rests on and the threshold used. Each experiment module states its own claims with these
helpers; genlab.claims collects them.

- A claim that fails is reported (held False), never dropped; so is one the data cannot test,
  with the reason as evidence.
- Several seeds: a curve or a point is the mean over seeds, as in the figures.
- Rank correlations are Kendall's tau-b and Spearman's rho on average ranks (genlab.ranks). An
  infinite value (a run that never fitted) ranks above all others.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import pandas as pd

from . import stats
from .errors import GenlabError
from .ranks import spearman_rho

CHANCE_ACCURACY = 0.1  # ten balanced MNIST classes
# Half-width of the band around chance. A network that learnt nothing scores 0.1 up to sampling
# noise: on 1000 test images the binomial standard deviation is 0.0095, so 0.05 is five of them,
# while any real learning of the true labels (>= 0.15) falls outside.
CHANCE_BAND = 0.05

# Findings report a direction the literature disagrees on or that a small run cannot settle:
# held says whether this run agrees with the paper named in the evidence; a finding that
# disagrees is no failed claim.
FINDING_PREFIX = "finding_"


def claim(experiment: str, name: str, verdict: str, evidence: str, effect: float = math.nan,
          low: float = math.nan, high: float = math.nan, n_seeds: int | None = None) -> dict:
    """One row of the claims table; `held` (true only for a held verdict) stays for older readers."""
    return {"experiment": experiment, "claim": name, "held": verdict == stats.HELD, "verdict": verdict,
            "effect": effect, "ci_low": low, "ci_high": high, "n_seeds": n_seeds, "evidence": evidence}


def untestable(experiment: str, name: str, why: str) -> dict:
    return claim(experiment, name, stats.INCONCLUSIVE, f"cannot be tested: {why}")


def judged(experiment: str, name: str, effect: float, interval: tuple[float, float], threshold: float,
           rising: bool, n_seeds: int, evidence: str, verdict: str | None = None) -> dict:
    """A claim on an effect and its interval against a threshold (stats.verdict, unless given);
    the evidence ends with the interval and where it comes from."""
    low, high = interval
    verdict = verdict or stats.verdict(low, high, threshold, rising)
    source = "bootstrap over seeds" if n_seeds > 1 else "sampling error of the evaluated examples"
    return claim(experiment, name, verdict, f"{evidence}; 95% interval [{num(low)}, {num(high)}] ({source})",
                 effect, low, high, n_seeds)


def ranked(experiment: str, name: str, x, y, sign: int, what: str, over: str, n_seeds: int, extra: str = "") -> dict:
    """A claim on the direction of a rank correlation: Kendall's tau with the exact permutation interval
    (stats.tau_interval); held when the interval lies on the side of `sign`, beyond 0."""
    tau, low, high = stats.tau_interval(x, y)
    rho = spearman_rho(x, y)
    side = "rising" if sign > 0 else "falling"
    return claim(experiment, name, stats.verdict(low, high, 0.0, rising=sign > 0),
                 f"{what}: Kendall tau {signed(tau)} (expected {side}), permutation interval "
                 f"[{signed(low)}, {signed(high)}], Spearman rho {signed(rho)} over {over}{extra}",
                 tau, low, high, n_seeds)


def acc(x: float) -> str:
    """Accuracies, rates and correlations: three decimals."""
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.3f}")


def num(x: float) -> str:
    """Losses, ratios and counts of any scale: three significant digits."""
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.3g}")


def signed(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:+.3f}"


def seeds_note(n: int) -> str:
    return f" (mean over {n} seeds)" if n > 1 else ""


def checked(df: pd.DataFrame, columns: Sequence[str], source: str) -> pd.DataFrame:
    """Fail with one line naming `source` if a column is missing or there are no rows."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise GenlabError(f"{source}: missing column(s) {', '.join(missing)}")
    if df.empty:
        raise GenlabError(f"{source}: no rows")
    return df


def numeric(df: pd.DataFrame, columns: Sequence[str], source: str, allow_empty: Sequence[str] = ()) -> pd.DataFrame:
    """Columns as floats; a value that is not a number (empty only where allowed) names the file."""
    df = df.copy()
    for c in columns:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() & (df[c].notna() | (c not in allow_empty))
        if bad.any():
            raise GenlabError(f"{source}: column {c} has a non-numeric value {df[c][bad].iloc[0]!r}")
        df[c] = values.astype(float)
    return df


def describe(paths: Sequence[str]) -> str:
    paths = [str(p) for p in paths]
    return ", ".join(paths) if len(paths) <= 3 else f"{paths[0]}, {paths[1]}, ... ({len(paths)} files)"


def read_tables(paths: Sequence[str | os.PathLike], columns: Sequence[str], with_path: bool = False) -> pd.DataFrame:
    """Concatenate CSVs; a missing, empty or malformed file, or a missing column, names that file.

    with_path adds a `path` column: for histories, where a file is a run.
    """
    frames = []
    for path in paths:
        if not os.path.isfile(path):
            raise GenlabError(f"{path}: no such file")
        try:
            df = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise GenlabError(f"{path}: empty file") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise GenlabError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
        df = checked(df, columns, str(path))
        frames.append(df.assign(path=str(path)) if with_path else df)
    return pd.concat(frames, ignore_index=True)


def table(inputs: dict, key: str, columns: Sequence[str], with_path: bool = False) -> tuple[pd.DataFrame, str] | None:
    """The CSVs of one named claim input, read and described; None when that input is absent or empty."""
    paths = [str(p) for p in inputs.get(key) or ()]
    return (read_tables(paths, columns, with_path), describe(paths)) if paths else None


# ------------------------------------------------------------------ claims on the measure table

MEASURES_COLUMNS = ["experiment", "run", "seed", "measure", "value"]
MEASURE_METRICS_COLUMNS = ["experiment", "run", "seed", "batch_size"]


def large_batch_sharper(inputs: dict, experiment: str, judge_measure, header) -> list[dict]:
    """The claim large_batch_sharper of one experiment, from the measure table ("measures") and the
    metrics of the measured runs ("measure_metrics"); none when either input is absent or the
    experiment has no sharpness measure (genlab.measures.is_sharpness) in the table.

    judge_measure(rows, measure) -> (verdict, effect, low, high, text) judges one measure from its rows
    (columns batch_size, seed, value); header(rows) opens the evidence. Held when every sharpness
    measure holds, not held when one does not; the effect and interval shown are the weakest measure's."""
    from .measures import is_sharpness

    measures, metrics = table(inputs, "measures", MEASURES_COLUMNS), table(inputs, "measure_metrics", MEASURE_METRICS_COLUMNS)
    if measures is None or metrics is None:
        return []
    (m, source), (b, metrics_source) = measures, metrics
    m = numeric(m, ["seed", "value"], source)
    b = numeric(b, ["seed", "batch_size"], metrics_source)
    keys = ["experiment", "run", "seed"]
    for df in (m, b):
        df["experiment"], df["run"] = df["experiment"].astype(str), df["run"].astype(str)
    m = m[m["measure"].astype(str).map(is_sharpness) & (m["experiment"] == experiment)]
    rows = m.merge(b[keys + ["batch_size"]].drop_duplicates(keys), on=keys, how="left")
    if rows["batch_size"].isna().any():
        row = rows[rows["batch_size"].isna()].iloc[0]
        raise GenlabError(f"{metrics_source}: no batch size for {row['experiment']}/{row['run']} seed {int(row['seed'])} "
                          f"measured in {source}")
    if rows.empty:
        return []
    results = [judge_measure(group, str(measure)) for measure, group in sorted(rows.groupby("measure"), key=lambda kv: str(kv[0]))]
    weakest = min(results, key=lambda r: r[2] if not math.isnan(r[2]) else -math.inf)
    text = header(rows) + ", ".join(r[4] for r in results)
    if "converged" in rows.columns:
        unconverged = rows["converged"].astype(str).str.strip().str.lower().isin(["false", "0", "0.0"]).sum()
        if unconverged:
            text += f"; {unconverged} estimate(s) not converged"
    n_seeds = rows["seed"].nunique()
    return [claim(experiment, "large_batch_sharper", stats.combined([r[0] for r in results]), text + seeds_note(n_seeds),
                  weakest[1], weakest[2], weakest[3], n_seeds)]
