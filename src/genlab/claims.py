"""The study's claims, checked by the run itself: result CSVs in, a table of verdicts out.

Each experiment reproduces a statement from the literature (Zhang et al. 2017, Keskar et al.
2017, Novak et al. 2018, the NTU MLDS homework). Plots let a reader judge them; this module
states each one as a test on the numbers, so a run says by itself which claims it reproduced.
The table has one row per claim, `experiment,claim,held,evidence`: `claim` is a stable id,
`evidence` the numbers the verdict rests on and the threshold used.

- A claim that fails is reported (held False), never dropped; so is one the data cannot test
  (e.g. no alpha outside [0, 1]), with the reason as evidence.
- A claim whose experiment was not run (no input given) is not emitted.
- Several seeds: a curve or a point is the mean over seeds, as in the figures.
- Rank correlations are Kendall's tau-b and Spearman's rho on average ranks, computed here
  (pandas' own needs scipy). An infinite value (a run that never fitted) ranks above all others.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .errors import GenlabError
from .ranks import kendall_tau, spearman_rho

COLUMNS = ["experiment", "claim", "held", "evidence"]
EXPERIMENTS = ["random_labels", "params_vs_gen", "interpolation", "sensitivity", "corruption"]  # row order

# ------------------------------------------------------------------ thresholds

CHANCE_ACCURACY = 0.1  # ten balanced MNIST classes
# Half-width of the band around chance. A network that learnt nothing scores 0.1 up to sampling
# noise: on 1000 test images the binomial standard deviation is 0.0095, so 0.05 is five of them,
# while any real learning of the true labels (>= 0.15) falls outside.
CHANCE_BAND = 0.05
# Zhang et al. fit random labels to 100%; 0.95 leaves room for a few labels a finite run has not
# yet fitted, and rules out partial fitting, which is no evidence of memorisation.
MEMORISED_MIN_TRAIN_ACCURACY = 0.95
# The test loss on true labels grows as the network grows confident in random labels. Chance
# level is ln 10 = 2.3; 1.5 times the lowest value seen is a rise no epoch-to-epoch noise makes.
TEST_LOSS_RISE_MIN_RATIO = 1.5

# Width sweep. Spearman's rho of 0.8 allows one or two neighbouring sizes to swap where the curve
# is flat (seed noise on a saturated accuracy) but not a curve without a trend.
RISES_MIN_SPEARMAN = 0.8
# ...and the largest network must beat the smallest by 5 points of accuracy: a rank correlation
# alone is satisfied by a rise of 0.001.
RISES_MIN_GAIN = 0.05
# Flattening: the slope (accuracy per decade of parameters) between the two largest networks is at
# most half the steepest slope between neighbouring sizes. A curve still rising as steeply at the
# top gives 1; half is a clear bend, whichever width the rise happened at.
FLATTEN_MAX_LAST_TO_STEEPEST = 0.5
MIN_SIZES = 3  # a trend and a bend need at least three parameter counts

# Interpolation. Keskar et al.'s solutions fit the training set; 0.98 is "fitted" with room for
# a few hard images, and it rules out a solution still far from any minimum.
ENDPOINT_MIN_TRAIN_ACCURACY = 0.98
# A barrier: the highest train loss strictly between the solutions is at least twice the higher
# endpoint loss AND at least 0.1 nats above it; the ratio alone would call numerical noise on two
# near-zero losses a barrier, the margin alone would ignore the scale of the endpoints.
BARRIER_MIN_RATIO = 2.0
BARRIER_MIN_EXCESS = 0.1
# Outside [0, 1] the loss at the farthest alpha on each side is at least twice its endpoint's.
RISE_OUTSIDE_MIN_RATIO = 2.0

# Findings (sensitivity vs batch size and gap, sharpness vs batch size) test a direction only:
# held when Kendall's tau is strictly beyond this value on the side the literature reports.
# With six batch sizes even a perfect ranking is weak evidence; the evidence gives tau and rho.
FINDING_MIN_ABS_TAU = 0.0
# Findings report a direction the literature disagrees on or that a small run cannot settle
# (which side of the interpolation is steeper, how sensitivity moves): held says whether this
# run agrees with the paper named in the evidence; a finding that disagrees is no failed claim.
FINDING_PREFIX = "finding_"

# Corruption (Zhang et al. figure 1). Kendall's tau of 0.8 between label noise and the mean
# steps to fit (or test error) over the noise levels: with six levels one neighbouring swap
# gives 0.87; a non-decreasing sequence that is mostly ties (most runs never fitted) stays below.
TIME_TO_FIT_MIN_TAU = 0.8
TEST_ERROR_MIN_TAU = 0.8
# The accuracy that counts as having fitted a label group (clean or corrupted) in a history.
GROUP_FIT_ACCURACY = 0.9

KESKAR_PREFIX = "keskar_"
HESSIAN_MEASURE = "hessian_eig1"

# ------------------------------------------------------------------ input columns

HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seed"]
PARAMS_COLUMNS = ["n_params", "test_accuracy", "seed"]
CURVE_COLUMNS = ["alpha", "train_loss", "train_accuracy"]
INTERPOLATION_METRICS_COLUMNS = ["run", "seed", "train_accuracy"]
SENSITIVITY_COLUMNS = ["batch_size", "output", "sensitivity", "train_accuracy", "test_accuracy", "seed"]
CORRUPTION_SUMMARY_COLUMNS = ["corruption", "label_noise", "seed", "steps_to_fit", "test_accuracy"]
# The histories need not carry label_noise (the workflow knows each run's p from its name).
CORRUPTION_HISTORY_COLUMNS = ["epoch", "seed", "clean_train_accuracy", "corrupted_train_accuracy"]
MEASURES_COLUMNS = ["experiment", "run", "seed", "measure", "value"]
MEASURE_METRICS_COLUMNS = ["experiment", "run", "seed", "batch_size"]

# ------------------------------------------------------------------ helpers


def _claim(experiment: str, claim: str, held: bool, evidence: str) -> dict:
    return {"experiment": experiment, "claim": claim, "held": bool(held), "evidence": evidence}


def _acc(x: float) -> str:
    """Accuracies, rates and correlations: three decimals."""
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.3f}")


def _num(x: float) -> str:
    """Losses, ratios and counts of any scale: three significant digits."""
    return "nan" if math.isnan(x) else ("inf" if math.isinf(x) else f"{x:.3g}")


def _signed(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:+.3f}"


def _check(df: pd.DataFrame, columns: Sequence[str], source: str) -> pd.DataFrame:
    """Fail with one line naming `source` if a column is missing or there are no rows."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise GenlabError(f"{source}: missing column(s) {', '.join(missing)}")
    if df.empty:
        raise GenlabError(f"{source}: no rows")
    return df


def _numeric(df: pd.DataFrame, columns: Sequence[str], source: str, allow_empty: Sequence[str] = ()) -> pd.DataFrame:
    """Columns as floats; a value that is not a number (empty only where allowed) names the file."""
    df = df.copy()
    for c in columns:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() & (df[c].notna() | (c not in allow_empty))
        if bad.any():
            raise GenlabError(f"{source}: column {c} has a non-numeric value {df[c][bad].iloc[0]!r}")
        df[c] = values.astype(float)
    return df


def _describe(paths: Sequence[str]) -> str:
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
        df = _check(df, columns, str(path))
        frames.append(df.assign(path=str(path)) if with_path else df)
    return pd.concat(frames, ignore_index=True)


def _seeds_note(n: int) -> str:
    return f" (mean over {n} seeds)" if n > 1 else ""


# ------------------------------------------------------------------ experiment 1: random labels


def random_labels_claims(histories: pd.DataFrame, source: str = "random_labels histories") -> list[dict]:
    """memorised, test_at_chance, test_loss_rises, from the per-epoch histories of every seed.

    The curve is the mean over seeds at each epoch all seeds reached; "final" is its last epoch.
    """
    df = _numeric(_check(histories, HISTORY_COLUMNS, source), HISTORY_COLUMNS, source)
    if df.duplicated(["epoch", "seed"]).any():
        raise GenlabError(f"{source}: an epoch appears twice for one seed")
    n_seeds = df["seed"].nunique()
    reached = df.groupby("epoch")["seed"].nunique()
    curve = df[df["epoch"].isin(reached[reached == n_seeds].index)].groupby("epoch")[HISTORY_COLUMNS[1:5]].mean()
    if curve.empty:
        raise GenlabError(f"{source}: no epoch that every seed reached")
    final, epoch = curve.iloc[-1], int(curve.index[-1])
    note = _seeds_note(n_seeds)
    ex = "random_labels"

    acc = final["train_accuracy"]
    memorised = acc >= MEMORISED_MIN_TRAIN_ACCURACY
    out = [_claim(ex, "memorised", memorised,
                  f"final (epoch {epoch}) train accuracy on random labels {_acc(acc)} "
                  f"{'>=' if memorised else '<'} {_acc(MEMORISED_MIN_TRAIN_ACCURACY)}{note}")]

    test = final["test_accuracy"]
    at_chance = abs(test - CHANCE_ACCURACY) <= CHANCE_BAND
    out.append(_claim(ex, "test_at_chance", at_chance,
                      f"final test accuracy {_acc(test)} {'within' if at_chance else 'outside'} "
                      f"{_acc(CHANCE_ACCURACY)} +/- {_acc(CHANCE_BAND)}{note}"))

    loss, lowest, lowest_epoch = final["test_loss"], curve["test_loss"].min(), int(curve["test_loss"].idxmin())
    rises = loss >= TEST_LOSS_RISE_MIN_RATIO * lowest
    out.append(_claim(ex, "test_loss_rises", rises,
                      f"final test loss {_num(loss)} {'>=' if rises else '<'} {_num(TEST_LOSS_RISE_MIN_RATIO)} x "
                      f"lowest {_num(lowest)} (epoch {lowest_epoch}){note}"))
    return out


# ------------------------------------------------------------------ experiment 2: width sweep


def params_vs_gen_claims(metrics: pd.DataFrame, source: str = "params_vs_gen metrics") -> list[dict]:
    """test_accuracy_rises, test_accuracy_flattens: mean test accuracy (over seeds) against n_params.

    Flattening, precisely: with slopes of test accuracy per decade of parameters between
    neighbouring sizes, the steepest slope is positive and the slope between the two largest
    sizes is at most FLATTEN_MAX_LAST_TO_STEEPEST times it: the curve has bent over at the top,
    wherever along the range it rose.
    """
    df = _numeric(_check(metrics, PARAMS_COLUMNS, source), PARAMS_COLUMNS, source)
    n_seeds = df["seed"].nunique()
    curve = df.groupby("n_params")["test_accuracy"].mean().sort_index()
    params, acc = curve.index.to_numpy(dtype=float), curve.to_numpy()
    ex = "params_vs_gen"
    if len(curve) < MIN_SIZES:
        why = f"cannot be tested: {len(curve)} parameter count(s), at least {MIN_SIZES} needed"
        return [_claim(ex, "test_accuracy_rises", False, why), _claim(ex, "test_accuracy_flattens", False, why)]
    note = _seeds_note(n_seeds)

    rho, tau, gain = spearman_rho(params, acc), kendall_tau(params, acc), acc[-1] - acc[0]
    rises = rho >= RISES_MIN_SPEARMAN and gain >= RISES_MIN_GAIN
    out = [_claim(ex, "test_accuracy_rises", rises,
                  f"Spearman rho {_signed(rho)} (need >= {_acc(RISES_MIN_SPEARMAN)}; Kendall tau {_signed(tau)}) "
                  f"over {len(curve)} sizes; test accuracy {_acc(acc[0])} at {params[0]:.0f} params -> "
                  f"{_acc(acc[-1])} at {params[-1]:.0f}, gain {_acc(gain)} (need >= {_acc(RISES_MIN_GAIN)}){note}")]

    # Slope of test accuracy per decade of parameters between neighbouring sizes.
    x = np.log10(params)
    slopes = np.diff(acc) / np.diff(x)
    steepest, last = float(slopes.max()), float(slopes[-1])
    at = int(slopes.argmax())
    flattens = steepest > 0 and last <= FLATTEN_MAX_LAST_TO_STEEPEST * steepest
    out.append(_claim(ex, "test_accuracy_flattens", flattens,
                      f"test accuracy slope per decade of params between the two largest sizes {_signed(last)} vs "
                      f"the steepest {_signed(steepest)} ({params[at]:.0f} -> {params[at + 1]:.0f} params): "
                      f"need a rising curve and the last slope <= {_num(FLATTEN_MAX_LAST_TO_STEEPEST)} x the steepest{note}"))
    return out


# ------------------------------------------------------------------ experiment 3: interpolation


def _alpha_curve(curves: pd.DataFrame, source: str) -> tuple[pd.DataFrame, int]:
    df = _numeric(_check(curves, CURVE_COLUMNS, source), CURVE_COLUMNS, source)
    df["alpha"] = df["alpha"].round(9)  # the grid is written rounded; this only merges float drift
    seeds = df["seed_a"].nunique() if "seed_a" in df.columns else 1
    curve = df.groupby("alpha")[["train_loss", "train_accuracy"]].mean().sort_index()
    for endpoint in (0.0, 1.0):
        if endpoint not in curve.index:
            raise GenlabError(f"{source}: no row at alpha {endpoint:g}")
    return curve, seeds


def interpolation_claims(
    curves: pd.DataFrame, metrics: pd.DataFrame | None = None,
    source: str = "interpolation curves", metrics_source: str = "interpolation metrics",
) -> list[dict]:
    """endpoints_are_minima, barrier, rises_outside, and the finding finding_steeper_side.

    alpha 0 is solution A (large batch), alpha 1 is B (small batch); losses are train losses.
    The endpoints' train accuracy comes from the metrics (whole training set) when given,
    else from the curve's own evaluation at alpha 0 and 1.
    """
    curve, n_seeds = _alpha_curve(curves, source)
    loss = curve["train_loss"]
    alphas = curve.index.to_numpy()
    l0, l1 = loss.loc[0.0], loss.loc[1.0]
    below, above = alphas[alphas < 0], alphas[alphas > 1]
    inside = alphas[(alphas > 0) & (alphas < 1)]
    note = _seeds_note(n_seeds)
    ex = "interpolation"
    out = []

    if metrics is not None:
        m = _numeric(_check(metrics, INTERPOLATION_METRICS_COLUMNS, metrics_source), ["train_accuracy"], metrics_source)
        by_run = m.groupby(m["run"].astype(str))["train_accuracy"].mean()
        for run in ("A", "B"):
            if run not in by_run.index:
                raise GenlabError(f"{metrics_source}: no run {run}")
        acc_a, acc_b, where = by_run.loc["A"], by_run.loc["B"], "whole training set"
    else:
        acc_a, acc_b = curve["train_accuracy"].loc[0.0], curve["train_accuracy"].loc[1.0]
        where = "curve's training subset"
    fitted = acc_a >= ENDPOINT_MIN_TRAIN_ACCURACY and acc_b >= ENDPOINT_MIN_TRAIN_ACCURACY
    text = (f"train accuracy A {_acc(acc_a)}, B {_acc(acc_b)} ({where}; need >= {_acc(ENDPOINT_MIN_TRAIN_ACCURACY)})")
    # Not "lower than the neighbouring alpha": for cross-entropy, scaling up the weights of a network
    # that fits its data lowers the loss, so the line just beyond a fitted endpoint may dip below it.
    text += f"; train loss A {_num(l0)}, B {_num(l1)}"
    out.append(_claim(ex, "endpoints_are_minima", fitted, text + note))

    if len(inside):
        peak_alpha = float(loss.loc[inside].idxmax())
        peak, ends = loss.loc[peak_alpha], max(l0, l1)
        ratio = peak / ends if ends > 0 else math.inf
        barrier = ratio >= BARRIER_MIN_RATIO and peak - ends >= BARRIER_MIN_EXCESS
        out.append(_claim(ex, "barrier", barrier,
                          f"highest train loss inside (0, 1) {_num(peak)} at alpha {peak_alpha:g} vs higher endpoint "
                          f"{_num(ends)}: ratio {_num(ratio)} (need >= {_num(BARRIER_MIN_RATIO)}), excess "
                          f"{_num(peak - ends)} (need >= {_num(BARRIER_MIN_EXCESS)}){note}"))
    else:
        out.append(_claim(ex, "barrier", False, "cannot be tested: no alpha strictly inside (0, 1)"))

    if len(below) and len(above):
        far_a, far_b = below.min(), above.max()
        ratio_a, ratio_b = loss.loc[far_a] / l0 if l0 > 0 else math.inf, loss.loc[far_b] / l1 if l1 > 0 else math.inf
        rises = ratio_a >= RISE_OUTSIDE_MIN_RATIO and ratio_b >= RISE_OUTSIDE_MIN_RATIO
        out.append(_claim(ex, "rises_outside", rises,
                          f"train loss {_num(loss.loc[far_a])} at alpha {far_a:g} = {_num(ratio_a)} x A's, "
                          f"{_num(loss.loc[far_b])} at alpha {far_b:g} = {_num(ratio_b)} x B's "
                          f"(need both >= {_num(RISE_OUTSIDE_MIN_RATIO)}){note}"))

        # Equal distance d outside the segment on both sides: the farthest both sides reach.
        d = float(min(-far_a, far_b - 1.0))
        loss_a = float(np.interp(-d, alphas, loss.to_numpy()))  # on the grid itself when it is symmetric
        loss_b = float(np.interp(1.0 + d, alphas, loss.to_numpy()))
        slope_a, slope_b = (loss_a - l0) / d, (loss_b - l1) / d
        steeper = "A (large-batch)" if slope_a > slope_b else "B (small-batch)" if slope_b > slope_a else "neither"
        out.append(_claim(ex, "finding_steeper_side", slope_a > slope_b,
                          f"train loss rise per unit alpha at distance {d:g} outside [0, 1]: A side (alpha {-d:g}) "
                          f"{_num(slope_a)}, B side (alpha {1 + d:g}) {_num(slope_b)}: {steeper} side steeper; "
                          f"Keskar et al. expect A{note}"))
    else:
        why = "cannot be tested: no alpha on both sides outside [0, 1]"
        out += [_claim(ex, "rises_outside", False, why), _claim(ex, "finding_steeper_side", False, why)]
    return out


# ------------------------------------------------------------------ experiment 4: sensitivity


def _finding(experiment: str, claim: str, x, y, sign: int, what: str, over: str, extra: str = "") -> dict:
    tau, rho = kendall_tau(x, y), spearman_rho(x, y)
    held = (sign * tau > FINDING_MIN_ABS_TAU) if not math.isnan(tau) else False
    need = f"{'>' if sign > 0 else '<'} {'-' if sign < 0 and FINDING_MIN_ABS_TAU else ''}{_acc(FINDING_MIN_ABS_TAU)}"
    return _claim(experiment, claim, held,
                  f"{what}: Kendall tau {_signed(tau)} (need {need}), Spearman rho {_signed(rho)} over {over}{extra}")


def sensitivity_claims(summary: pd.DataFrame, source: str = "sensitivity summary") -> list[dict]:
    """Findings sensitivity_vs_batch_size (homework: falls with batch size) and sensitivity_tracks_gap
    (Novak et al.: rises with train - test accuracy). The first uses the mean over seeds per batch
    size, as plotted; the second every network, as Novak et al. correlate networks."""
    df = _check(summary, SENSITIVITY_COLUMNS, source)
    df = _numeric(df, [c for c in SENSITIVITY_COLUMNS if c != "output"], source)
    outputs = sorted(df["output"].astype(str).unique())
    if len(outputs) != 1:
        raise GenlabError(f"{source}: mixes sensitivity outputs {', '.join(outputs)}")
    output = outputs[0]
    ex = "sensitivity"
    by_batch = df.groupby("batch_size")["sensitivity"].mean()
    gap = df["train_accuracy"] - df["test_accuracy"]
    n_seeds = df["seed"].nunique()
    return [
        _finding(ex, "finding_sensitivity_vs_batch_size", by_batch.index, by_batch.to_numpy(), -1,
                 f"sensitivity ({output} output) vs batch size, expected falling (the homework, with logits)",
                 f"{len(by_batch)} batch sizes", _seeds_note(n_seeds)),
        _finding(ex, "finding_sensitivity_tracks_gap", df["sensitivity"], gap, +1,
                 f"sensitivity ({output} output) vs generalization gap train - test accuracy, expected rising (Novak et al.)",
                 f"{len(df)} networks"),
    ]


# ------------------------------------------------------------------ experiment 5: corruption


def corruption_claims(
    summary: pd.DataFrame | None = None, histories: pd.DataFrame | None = None,
    source: str = "corruption summary", histories_source: str = "corruption histories",
) -> list[dict]:
    """time_to_fit_rises and test_error_rises (from the summary's `labels` runs), and
    clean_before_corrupted (from the label runs' histories). A run that never fitted took
    infinitely many steps; a label group that never reached GROUP_FIT_ACCURACY, infinitely many epochs."""
    ex = "corruption"
    out = []
    if summary is not None:
        df = _check(summary, CORRUPTION_SUMMARY_COLUMNS, source)
        df = df[df["corruption"].astype(str) == "labels"]
        if not df.empty:
            df = _numeric(df, ["label_noise", "seed", "steps_to_fit", "test_accuracy"], source, allow_empty=["steps_to_fit"])
            df["label_noise"] = df["label_noise"].round(9)
            df["steps_to_fit"] = df["steps_to_fit"].fillna(math.inf)
            df["test_error"] = 1.0 - df["test_accuracy"]
            levels = df.groupby("label_noise")[["steps_to_fit", "test_error"]].mean().sort_index()
            noise = levels.index.to_numpy()
            note = _seeds_note(df["seed"].nunique())
            listing = ", ".join(f"p={p:g}: {s:.0f}" for p, s in zip(noise, levels["steps_to_fit"]))

            steps = levels["steps_to_fit"].to_numpy()
            monotone = bool(np.all(steps[1:] >= steps[:-1])) if len(steps) > 1 else False
            tau = kendall_tau(noise, steps)
            held = monotone and not math.isnan(tau) and tau >= TIME_TO_FIT_MIN_TAU
            out.append(_claim(ex, "time_to_fit_rises", held,
                              f"steps to fit (inf: never fitted) {listing}; "
                              f"{'non-decreasing' if monotone else 'not non-decreasing'} in label noise, "
                              f"Kendall tau {_signed(tau)} (need >= {_acc(TIME_TO_FIT_MIN_TAU)}){note}"))

            errors = levels["test_error"].to_numpy()
            tau = kendall_tau(noise, errors)
            rises = not math.isnan(tau) and tau >= TEST_ERROR_MIN_TAU
            text = (f"test error {_acc(errors[0])} at p={noise[0]:g} -> {_acc(errors[-1])} at p={noise[-1]:g}, "
                    f"Kendall tau {_signed(tau)} (need >= {_acc(TEST_ERROR_MIN_TAU)})")
            if 1.0 in levels.index:
                at_one = levels["test_error"].loc[1.0]
                chance = abs(at_one - (1 - CHANCE_ACCURACY)) <= CHANCE_BAND
                text += (f"; at p=1 {_acc(at_one)} {'within' if chance else 'outside'} "
                         f"{_acc(1 - CHANCE_ACCURACY)} +/- {_acc(CHANCE_BAND)}")
            else:
                chance = False
                text += "; no run at label noise 1 to compare with chance"
            out.append(_claim(ex, "test_error_rises", rises and chance, text + note))

    if histories is not None:
        out.append(_clean_before_corrupted(histories, histories_source))
    return out


def _clean_before_corrupted(histories: pd.DataFrame, source: str) -> dict:
    """A run with 0 < p < 1 is one with both a clean and a corrupted group (both columns filled):
    the history need not say p. A run is one `path` (collect_claims adds it: one file per run)
    and seed, or one label_noise and seed; label_noise, when present, names the run."""
    groups = ["clean_train_accuracy", "corrupted_train_accuracy"]
    h = _check(histories, CORRUPTION_HISTORY_COLUMNS, source)
    numeric = CORRUPTION_HISTORY_COLUMNS + (["label_noise"] if "label_noise" in h.columns else [])
    h = _numeric(h, numeric, source, allow_empty=groups)
    keys = [c for c in ("path", "label_noise", "seed") if c in h.columns]
    if h.duplicated([*keys, "epoch"]).any():
        raise GenlabError(f"{source}: an epoch appears twice for one run (runs told apart by {', '.join(keys)})")
    failing, n_runs = [], 0
    for key, run in h.groupby(keys, sort=True):
        if run[groups[0]].isna().all() or run[groups[1]].isna().all():
            continue  # p = 0 or p = 1: only one group
        n_runs += 1
        clean, corrupted = (_first_epoch(run, c) for c in groups)
        if not clean < corrupted:
            named = dict(zip(keys, key))
            name = (f"p={named['label_noise']:g}" if "label_noise" in named else str(named["path"]))
            failing.append(f"{name} seed {int(named['seed'])} (clean epoch {clean:.0f}, corrupted {corrupted:.0f})")
    ex = "corruption"
    if not n_runs:
        return _claim(ex, "clean_before_corrupted", False, "cannot be tested: no label run with 0 < p < 1")
    text = (f"clean train accuracy reached {_acc(GROUP_FIT_ACCURACY)} before corrupted in "
            f"{n_runs - len(failing)} of {n_runs} runs with 0 < p < 1 (never reached: inf)")
    if failing:
        text += "; not in " + ", ".join(failing[:3]) + (f" and {len(failing) - 3} more" if len(failing) > 3 else "")
    return _claim(ex, "clean_before_corrupted", not failing, text)


def _first_epoch(run: pd.DataFrame, column: str) -> float:
    reached = run.loc[run[column] >= GROUP_FIT_ACCURACY, "epoch"]
    return float(reached.min()) if len(reached) else math.inf


# ------------------------------------------------------------------ sharpness measures


def measures_claims(
    measures: pd.DataFrame, metrics: pd.DataFrame,
    source: str = "measures", metrics_source: str = "measure metrics",
) -> list[dict]:
    """large_batch_sharper for experiment sensitivity (each keskar_* measure and hessian_eig1,
    mean over seeds per batch size, rank-correlate positively with batch size) and for
    interpolation (the larger-batch solution scores higher on each, mean over seeds)."""
    m = _check(measures, MEASURES_COLUMNS, source)
    m = _numeric(m, ["seed", "value"], source)
    b = _numeric(_check(metrics, MEASURE_METRICS_COLUMNS, metrics_source), ["seed", "batch_size"], metrics_source)
    keys = ["experiment", "run", "seed"]
    for df in (m, b):
        df["experiment"], df["run"] = df["experiment"].astype(str), df["run"].astype(str)
    m = m[m["measure"].astype(str).str.startswith(KESKAR_PREFIX) | (m["measure"] == HESSIAN_MEASURE)]
    m = m[m["experiment"].isin(["sensitivity", "interpolation"])]
    merged = m.merge(b[keys + ["batch_size"]].drop_duplicates(keys), on=keys, how="left")
    if merged["batch_size"].isna().any():
        row = merged[merged["batch_size"].isna()].iloc[0]
        raise GenlabError(f"{metrics_source}: no batch size for {row['experiment']}/{row['run']} seed {int(row['seed'])} "
                          f"measured in {source}")
    out = []
    for experiment in ("interpolation", "sensitivity"):
        rows = merged[merged["experiment"] == experiment]
        if rows.empty:
            continue
        parts, held = [], True
        for measure, group in sorted(rows.groupby("measure"), key=lambda kv: str(kv[0])):
            by_batch = group.groupby("batch_size")["value"].mean().sort_index()
            if experiment == "sensitivity":
                tau = kendall_tau(by_batch.index, by_batch.to_numpy())
                ok = not math.isnan(tau) and tau > FINDING_MIN_ABS_TAU
                parts.append(f"{measure} {_signed(tau)}")
            else:
                small, large = by_batch.iloc[0], by_batch.iloc[-1]
                ok = len(by_batch) == 2 and large > small
                parts.append(f"{measure} {_num(large)} vs {_num(small)}")
            held = held and ok
        if experiment == "sensitivity":
            text = (f"Kendall tau of sharpness vs batch size over {rows['batch_size'].nunique()} batch sizes "
                    f"(need each > {_acc(FINDING_MIN_ABS_TAU)}): " + ", ".join(parts))
        else:
            sizes = sorted(rows["batch_size"].unique())
            text = (f"sharpness of the batch-{int(sizes[-1])} solution vs the batch-{int(sizes[0])} one "
                    f"(need larger on each): " + ", ".join(parts))
        if "converged" in rows.columns:
            unconverged = rows["converged"].astype(str).str.strip().str.lower().isin(["false", "0", "0.0"]).sum()
            if unconverged:
                text += f"; {unconverged} estimate(s) not converged"
        text += _seeds_note(rows["seed"].nunique())
        out.append(_claim(experiment, "large_batch_sharper", held, text))
    return out


# ------------------------------------------------------------------ the table


def _ordered(rows: list[dict]) -> pd.DataFrame:
    """Experiments in EXPERIMENTS order, claims in the order their function states them."""
    rank = {e: i for i, e in enumerate(EXPERIMENTS)}
    rows = sorted(rows, key=lambda r: rank.get(r["experiment"], len(rank)))  # stable within an experiment
    return pd.DataFrame(rows, columns=COLUMNS).astype({"held": bool})


PATH_KEYS = (
    "random_labels_histories", "params_vs_gen_metrics", "interpolation_curves", "interpolation_metrics",
    "sensitivity_summary", "corruption_summary", "corruption_histories", "measures", "measure_metrics",
)


def collect_claims(paths: Mapping[str, Sequence[str | os.PathLike]]) -> pd.DataFrame:
    """Read each experiment's CSVs (keys of PATH_KEYS; missing keys or empty lists are skipped)."""
    unknown = sorted(set(paths) - set(PATH_KEYS))
    if unknown:
        raise GenlabError(f"claims inputs: unknown key(s) {', '.join(unknown)} (known: {', '.join(PATH_KEYS)})")
    given = {k: [str(p) for p in v] for k, v in paths.items() if v}

    def table(key: str, columns: Sequence[str], with_path: bool = False) -> tuple[pd.DataFrame, str] | None:
        return (read_tables(given[key], columns, with_path), _describe(given[key])) if key in given else None

    rows: list[dict] = []
    if (t := table("random_labels_histories", HISTORY_COLUMNS)) is not None:
        rows += random_labels_claims(*t)
    if (t := table("params_vs_gen_metrics", PARAMS_COLUMNS)) is not None:
        rows += params_vs_gen_claims(*t)
    if (t := table("interpolation_curves", CURVE_COLUMNS)) is not None:
        metrics = table("interpolation_metrics", INTERPOLATION_METRICS_COLUMNS)
        rows += interpolation_claims(t[0], metrics[0] if metrics else None, t[1],
                                     metrics[1] if metrics else "interpolation metrics")
    if (t := table("sensitivity_summary", SENSITIVITY_COLUMNS)) is not None:
        rows += sensitivity_claims(*t)
    summary = table("corruption_summary", CORRUPTION_SUMMARY_COLUMNS)
    histories = table("corruption_histories", CORRUPTION_HISTORY_COLUMNS, with_path=True)
    if summary is not None or histories is not None:
        rows += corruption_claims(summary[0] if summary else None, histories[0] if histories else None,
                                  summary[1] if summary else "corruption summary",
                                  histories[1] if histories else "corruption histories")
    measures, metrics = table("measures", MEASURES_COLUMNS), table("measure_metrics", MEASURE_METRICS_COLUMNS)
    if measures is not None and metrics is not None:
        rows += measures_claims(measures[0], metrics[0], measures[1], metrics[1])
    return _ordered(rows)


def write_claims(paths: Mapping[str, Sequence[str | os.PathLike]], out_csv: str | os.PathLike) -> pd.DataFrame:
    """Write the claims table atomically; the same inputs give the same bytes."""
    df = collect_claims(paths)
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    return df


def summary_lines(df: pd.DataFrame) -> list[str]:
    """'N of M claims held', then one line per claim: a check or a cross, its id and evidence."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise GenlabError(f"claims table: missing column(s) {', '.join(missing)}")
    held = [str(h).strip().lower() in ("true", "1") for h in df["held"]]
    finding = [str(c).startswith(FINDING_PREFIX) for c in df["claim"]]
    claims_held = sum(h for h, f in zip(held, finding) if not f)
    agree = sum(h for h, f in zip(held, finding) if f)
    lines = [
        f"{claims_held} of {len(held) - sum(finding)} claims held; "
        f"{agree} of {sum(finding)} findings agree with the literature"
    ]
    for ok, (_, row) in zip(held, df.iterrows()):
        lines.append(f"{'✓' if ok else '✗'} {row['experiment']}/{row['claim']}: {row['evidence']}")
    return lines


def print_summary(claims_csv: str | os.PathLike, out=None) -> None:
    """After a successful run: the claims table in a few lines (nothing if it was not built)."""
    import sys

    if not os.path.isfile(claims_csv):
        return
    try:
        lines = summary_lines(pd.read_csv(claims_csv))
    except (GenlabError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return
    print("genlab: claims (results/claims.csv): " + lines[0], file=out or sys.stderr)
    for line in lines[1:]:
        print("  " + line, file=out or sys.stderr)


def input_paths(config: dict) -> dict[str, list[str]]:
    """The workflow's CSVs every claim rests on, by collect_claims' keys (measures when configured)."""
    from . import plan
    from .experiments import corruption
    from .measures import jobs as measures

    paths = {
        "random_labels_histories": plan.run_paths(config, "random_labels", "results/runs/random_labels/{run}/seed{seed}/history.csv"),
        "params_vs_gen_metrics": ["results/metrics/params_vs_gen.csv"],
        "interpolation_curves": [f"results/interpolation/seed{seed}.csv" for seed in config["seeds"]],
        "interpolation_metrics": ["results/metrics/interpolation.csv"],
        "sensitivity_summary": ["results/sensitivity/summary.csv"],
        "corruption_summary": ["results/corruption/summary.csv"],
        # Runs with 0 < p < 1 only: the clean-before-corrupted claim is about them.
        "corruption_histories": [
            f"results/runs/corruption/{run}/seed{seed}/history.csv"
            for run, seed in plan.all_runs(config, "corruption")
            if 0 < corruption.run_spec(config["corruption"], run)["label_noise"] < 1
            and corruption.run_spec(config["corruption"], run)["corruption"] == "labels"
        ],
    }
    if measures.TABLE in measures.outputs(config):
        paths["measures"] = [measures.TABLE]
        paths["measure_metrics"] = measures.metrics_tables(config)
    return paths
