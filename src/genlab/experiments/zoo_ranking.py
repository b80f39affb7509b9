"""The zoo's ranking of measures by Jiang et al. 2019's protocol, its figures and its findings.

tables   results/zoo/ranking.csv: per measure of the zoo's checkpoints (genlab.measures.protocol's
         columns) with its family, whether a rescaling of the network changes it (invariant), and
         how many runs missed the target train loss and were left out (n_unreached)
figures  image/Zoo_ranking.png (Psi and tau per measure with their intervals, by family),
         image/Zoo_measure_vs_gap.png (each family's best measure against the gap, one point per run)
findings finding_flatness_beats_norms, finding_spectral_product_negative (Jiang et al.)

A measure's family is its kind's FAMILY (genlab.measures); per-layer measures are left out of the
ranking (a layer "conv2" is another layer in a net of another depth).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import evidence as ev
from ..atomic import write_csv
from ..columns import REACHED_TARGET, STEPS_TO_LOSS
from ..measures.optimisation import STEPS_TO_LOSS as STEPS_TO_LOSS_MEASURE
from ..measures.rows import NORM_FAMILY as NORMS, SHARPNESS_FAMILY as SHARPNESS
from ..plots import read_table, read_tables
from .zoo import GRID_KEYS, NAME

RANKING_SAMPLES = 400  # bootstrap resamples of runs for tau's and Psi's intervals (each resample recomputes every psi_i)
MIN_RUNS = 2  # runs that reached the target needed for any ranking
PER_LAYER = re.compile(r"_(?:conv|dense)\d+$")  # genlab.measures.loss.labelled_layers' labels


def family(measure: str) -> str:
    """The family of the kind that writes the measure (its module's FAMILY), "other" where none is said."""
    from .. import measures

    kind = measures.kind_of(measure)
    return getattr(measures.get(kind), "FAMILY", "other") if kind else "other"


def zoo_table(runs_csv: str | Path,
              measures_csv: str | Path | Sequence[str | Path]) -> tuple[pd.DataFrame, list[str], list[str], int]:
    """(one row per run and seed that reached the target: hyperparameters, gap, a column per measure,
    the steps to train loss 0.1 among them; the hyperparameters that vary; the measures; how many runs
    missed the target)."""
    runs = read_table(runs_csv, ["run", "seed", *GRID_KEYS, "gap", REACHED_TARGET, STEPS_TO_LOSS])
    reached = runs[runs[REACHED_TARGET].astype(str).str.lower().isin(["true", "1"])].copy()
    # The zoo's own measure tables (zoo.measure_tables), or a table of every experiment's measures.
    paths = [measures_csv] if isinstance(measures_csv, (str, Path)) else list(measures_csv)
    rows = read_tables(paths, ["experiment", "run", "seed", "measure", "value"])
    rows = rows[(rows["experiment"].astype(str) == NAME) & ~rows["measure"].astype(str).str.contains(PER_LAYER)]
    wide = rows.pivot_table(index=["run", "seed"], columns="measure", values="value", aggfunc="first").reset_index()
    for frame in (reached, wide):
        frame["run"], frame["seed"] = frame["run"].astype(str), frame["seed"].astype(int)
    table = reached[["run", "seed", *GRID_KEYS, "gap"]].merge(wide, on=["run", "seed"], how="left")
    if len(wide.columns) > 2:  # the checkpoints were measured: the steps to train loss 0.1 rank beside them
        table[STEPS_TO_LOSS_MEASURE] = pd.to_numeric(reached[STEPS_TO_LOSS], errors="coerce").to_numpy()
    hparams = [h for h in GRID_KEYS if table[h].nunique() > 1]
    names = sorted(c for c in table.columns if c not in ("run", "seed", *GRID_KEYS, "gap"))
    return table, hparams, names, int(len(runs) - len(reached))


def ranking(runs_csv: str | Path, measures_csv, samples: int = RANKING_SAMPLES) -> pd.DataFrame:
    from .. import measures
    from ..measures.protocol import rank_measures

    table, hparams, names, unreached = zoo_table(runs_csv, measures_csv)
    invariant = {n: measures.is_invariant(n) for n in names}
    if len(table) < MIN_RUNS:  # nothing to rank: every statistic empty, the counts say why
        ranked = rank_measures(pd.DataFrame(columns=table.columns), hparams, [], invariant=invariant)
        ranked = pd.concat([ranked, pd.DataFrame({"measure": names, "n_runs": len(table)})], ignore_index=True)
        ranked["invariant"] = [invariant[n] for n in ranked["measure"]]
    else:
        ranked = rank_measures(table, hparams, names, invariant=invariant, samples=samples)
    ranked.insert(1, "family", [family(m) for m in ranked["measure"]])
    ranked["n_unreached"] = unreached
    return ranked


def write_ranking(runs_csv: str | Path, measures_csv, out_csv: str | Path) -> None:
    ranked = ranking(runs_csv, measures_csv)
    write_csv(out_csv, ranked.astype(object).where(ranked.notna(), None), list(ranked.columns))


# ---------------------------------------------------------------- findings

RANKING_COLUMNS = ["measure", "family", "tau", "tau_ci_low", "tau_ci_high", "psi", "psi_ci_low", "psi_ci_high", "n_runs"]


def findings(ranked: pd.DataFrame, n_seeds: int) -> list[dict]:
    """Jiang et al.'s two findings judged on the ranking (held: this zoo agrees with them).

    finding_flatness_beats_norms: the best Psi of a sharpness or PAC-Bayes measure minus the best Psi
    of a norm or margin measure, above 0; its interval joins the two Psi intervals' far ends (no
    correlation assumed, so it is wider than the difference's own). finding_spectral_product_negative:
    tau of the product of spectral norms below 0."""
    out = []
    by_family = {f: rows.dropna(subset=["psi"]) for f, rows in ranked.groupby("family")}
    flat, norm = by_family.get(SHARPNESS), by_family.get(NORMS)
    if flat is None or norm is None or flat.empty or norm.empty:
        out.append(ev.untestable(NAME, "finding_flatness_beats_norms", "needs a sharpness or PAC-Bayes and a norm measure"))
    else:
        best_flat, best_norm = flat.loc[flat["psi"].idxmax()], norm.loc[norm["psi"].idxmax()]
        effect = best_flat["psi"] - best_norm["psi"]
        low, high = best_flat["psi_ci_low"] - best_norm["psi_ci_high"], best_flat["psi_ci_high"] - best_norm["psi_ci_low"]
        out.append(ev.judged(NAME, "finding_flatness_beats_norms", effect, (low, high), 0.0, True, n_seeds,
                             f"best Psi: {best_flat['measure']} {ev.signed(best_flat['psi'])} vs {best_norm['measure']} "
                             f"{ev.signed(best_norm['psi'])} over {int(best_flat['n_runs'])} runs (Jiang et al.: "
                             f"flatness measures above every norm measure)"))
    spectral = ranked[ranked["measure"] == "norms_spectral_product"]
    if spectral.empty or math.isnan(float(spectral["tau"].iloc[0])):
        out.append(ev.untestable(NAME, "finding_spectral_product_negative", "no tau of norms_spectral_product"))
    else:
        row = spectral.iloc[0]
        out.append(ev.judged(NAME, "finding_spectral_product_negative", row["tau"], (row["tau_ci_low"], row["tau_ci_high"]),
                             0.0, False, n_seeds, f"Kendall tau(product of spectral norms, gap) {ev.signed(row['tau'])} "
                             f"over {int(row['n_runs'])} runs (Jiang et al.: negative)"))
    return out


def claims_of(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "ranking", RANKING_COLUMNS)
    runs = ev.table(inputs, "runs", ["seed"])
    if not found:
        return []
    n_seeds = int(runs[0]["seed"].nunique()) if runs else 1
    return findings(found[0], n_seeds)


# ---------------------------------------------------------------- figures


def plot_ranking(ranking_csv: str | Path, png: str | Path, settings: str = "") -> None:
    """Psi and tau of every measure with their 95 % intervals, sorted by Psi, coloured by family."""
    import matplotlib.pyplot as plt

    from ..atomic import save_figure

    ranked = read_table(ranking_csv, RANKING_COLUMNS).sort_values("psi", na_position="first")
    families = sorted(ranked["family"].unique())
    colours = {f: plt.get_cmap("tab10")(i) for i, f in enumerate(families)}
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.35 * len(ranked) + 2.2), sharey=True)
    y = np.arange(len(ranked))
    for ax, (stat, label) in zip(axes, (("psi", "granulated Kendall Ψ with the gap"), ("tau", "Kendall τ with the gap, all runs"))):
        for i, (_, row) in enumerate(ranked.iterrows()):
            ax.errorbar(row[stat], i, xerr=[[row[stat] - row[f"{stat}_ci_low"]], [row[f"{stat}_ci_high"] - row[stat]]],
                        fmt="o", color=colours[row["family"]], capsize=2, markersize=4)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel(label)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(y, ranked["measure"], fontsize="small")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colours[f], label=f) for f in families]
    fig.legend(handles=handles, loc="lower center", ncol=len(families), frameon=False, fontsize="small")
    fig.suptitle("Which measure predicts the generalization gap? (model zoo, Jiang et al.'s protocol;\n"
                 "bars: 95 % bootstrap intervals over runs)\n" + settings)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    try:
        save_figure(fig, png)
    finally:
        plt.close(fig)


def plot_vs_gap(ranking_csv: str | Path, runs_csv: str | Path, measures_csv, png: str | Path,
                settings: str = "") -> None:
    """Each family's best measure (highest Psi) against the gap, one point per run, coloured by the
    hyperparameter of that measure's largest psi_i."""
    import matplotlib.pyplot as plt

    from ..atomic import save_figure
    from ..plots import scale_y

    ranked = read_table(ranking_csv, RANKING_COLUMNS).dropna(subset=["psi"])
    table, hparams, _, _ = zoo_table(runs_csv, measures_csv)
    best = ranked.sort_values("psi", ascending=False).drop_duplicates("family")
    fig, axes = plt.subplots(1, max(1, len(best)), figsize=(4.2 * max(1, len(best)), 4.2), squeeze=False)
    for ax, (_, row) in zip(axes[0], best.iterrows()):
        psis = {h: row.get(f"psi_{h}", math.nan) for h in hparams}
        key = max(psis, key=lambda h: -math.inf if pd.isna(psis[h]) else psis[h]) if psis else None
        values = sorted(table[key].unique(), key=lambda v: (isinstance(v, str), v)) if key else [None]  # numbers by value
        for i, value in enumerate(values):
            rows = table if key is None else table[table[key] == value]
            ax.scatter(rows["gap"], rows[row["measure"]], s=14, color=plt.get_cmap("tab10")(i),
                       label=f"{key} = {value}" if key else None)
        note = scale_y(ax, table[row["measure"]].dropna().to_numpy())
        ax.set_xlabel("generalization gap (train − test accuracy)")
        ax.set_ylabel(f"{row['measure']}{note}")
        ax.set_title(f"{row['family']}: Ψ {row['psi']:.2f}, τ {row['tau']:.2f}", fontsize="small")
        ax.grid(True, alpha=0.3)
        if key:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="small", ncol=2, frameon=False)
    fig.suptitle("Each family's best measure against the gap (model zoo)\n" + settings)
    fig.tight_layout()
    try:
        save_figure(fig, png)
    finally:
        plt.close(fig)


def plot_figures(inputs, outputs, settings: str = "") -> None:
    """Both figures of the zoo from the rule's named inputs (ranking, runs, measures) and outputs."""
    plot_ranking(inputs.ranking, outputs.ranking, settings)
    plot_vs_gap(inputs.ranking, inputs.runs, list(inputs.measures), outputs.vs_gap, settings)
