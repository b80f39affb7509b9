"""Experiment 6, double descent (Belkin et al. 2019; Nakkiran et al. 2019): with label noise and training
to (near) zero training error, test error rises to a peak where the model just fits its training set (the
interpolation threshold) and falls again beyond it; over epochs a large model's test error can fall, rise
and fall again.

config key  double_descent (model, widths, n_train, label_noise, lr, batch_size, epochs, eval_*, seeds):
            types by the JSON schema, cross-key rules by `check`
runs        noise{p}width{w}: one network per label-noise level p, width w and seed ("noise0p2width16");
            model fc (784-H-10, 795 H + 10 parameters) or width_cnn (conv(w)-dense(w)-10). Every run
            trains all `epochs` (no early stop): the figure and the threshold need the end of training.
data        one subset per noise level (`subset_name`), shared by its widths: the same n_train images
            (data_seed) with round(p n) labels redrawn by genlab.corrupt.corrupt_subset, the nested draw
            of experiment 5, recorded in the subset file (its `noise` record)
rules       workflow/rules/double_descent.smk, shared subset/train/metrics
tables      results/runs/double_descent/{run}/seed{k}/history.csv (genlab.columns.HISTORY_COLUMNS),
            results/metrics/double_descent.csv, results/double_descent/summary.csv (SUMMARY_COLUMNS,
            one row per run and seed, with each noise level's measured threshold; `write_summary`)
figures     FIGURES, drawn from those CSVs only (double_descent_figures)
claims      peak_near_threshold, second_descent, peak_grows_with_noise, finding_no_peak_without_noise
            (from the summary)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import evidence as ev
from .. import stats
from ..atomic import atomic_path
from ..config import WIDTH_ARCHS, TrainConfig
from ..errors import GenlabError
from ._shared import check_batch_size, history_paths, runs, section_config, standard_outputs, summary_job
from .corruption import noise_run_name

NAME = "double_descent"
MODELS = WIDTH_ARCHS  # genlab.models' architectures with a width: fc, width_cnn
FIGURES = {
    "model_wise": "image/DoubleDescent_model_wise.png",
    "epoch_wise": "image/DoubleDescent_epoch_wise.png",
}
SUMMARY_CSV = "results/double_descent/summary.csv"
# The interpolation threshold of a noise level: the smallest width whose final training error (on the
# labels trained on, mean over seeds) is at most this. 1%: a network that fits all but a few of its
# noisy labels; exactly 0 would hinge on one stubborn example.
INTERPOLATION_MAX_TRAIN_ERROR = 0.01
SUMMARY_COLUMNS = [
    "model", "width", "n_params", "label_noise", "seed", "train_error", "test_error", "train_loss", "test_loss",
    "epochs", "n_train", "lr", "batch_size", "n_test_eval", "threshold_width", "threshold_n_params",
]

# ---------------------------------------------------------------- runs


def n_params(model: str, width: int) -> int:
    """The parameter count of genlab.models' `model` at `width` (torch-free: the parse step uses it)."""
    if model == "fc":
        return 795 * width + 10
    if model == "width_cnn":
        return 676 * width**2 + 21 * width + 10
    raise GenlabError(f"config key {NAME}.model: {model!r} is not one of {', '.join(MODELS)}")


def run_name(p: float, width: int) -> str:
    return f"{noise_run_name(p)}width{int(width)}"


def _specs(section: dict) -> dict[str, dict]:
    return {run_name(p, w): {"label_noise": float(p), "width": int(w)} for p in section["label_noise"] for w in section["widths"]}


def run_names(section: dict) -> list[str]:
    """Noise levels in config order, each with its widths in config (increasing) order."""
    return list(_specs(section))


def run_spec(section: dict, run: str) -> dict:
    """{"label_noise": p, "width": w} of a run name."""
    specs = _specs(section)
    if run not in specs:
        raise GenlabError(f"{NAME}: no run named {run!r} in the config (runs: {', '.join(specs)})")
    return dict(specs[run])


def run_specs(config: dict) -> list[dict]:
    """run_spec of every run and seed, in plan order (the order of the history files)."""
    return [run_spec(config[NAME], run) for run, _ in runs(config, NAME)]


def histories(config: dict) -> list[str]:
    return history_paths(config, NAME)


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    section = config[NAME]
    spec = run_spec(section, run)
    return section_config(config, NAME, run, seed, arch=section["model"], width=spec["width"],
                          label_noise=spec["label_noise"], input_corruption="none", fit_threshold=None)


def subset_name(run: str) -> str:
    """All widths of one noise level train on the same labels: results/subsets/double_descent_noise0p2.pt."""
    return f"{NAME}_{run.split('width')[0]}"


def outputs(config: dict) -> list[str]:
    return [*standard_outputs(NAME, FIGURES), SUMMARY_CSV]


def jobs(config: dict, cost) -> list[dict]:
    return summary_job(NAME, cost)


def check(config: dict) -> None:
    """The rules the schema cannot state; one-line GenlabError naming the key and the value."""
    section = config[NAME]
    key = f"config key {NAME}"
    if section["model"] not in MODELS:
        raise GenlabError(f"{key}.model: {section['model']!r} is not one of {', '.join(MODELS)}")
    widths = list(section["widths"])
    for i, w in enumerate(widths):
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise GenlabError(f"{key}.widths.{i}: {w!r} is not a positive integer width")
        if i and w <= widths[i - 1]:
            what = "repeats" if w == widths[i - 1] else "is smaller than"
            raise GenlabError(f"{key}.widths.{i}: {w} {what} the width before it ({widths[i - 1]}); widths must increase")
    noise = list(section["label_noise"])
    for i, p in enumerate(noise):
        if not 0.0 <= p < 1.0:
            raise GenlabError(f"{key}.label_noise.{i}: {p!r} is outside [0, 1) (p = 1 has no clean label to generalise from)")
    if len(set(noise)) != len(noise) or len({noise_run_name(p) for p in noise}) != len(noise):
        raise GenlabError(f"{key}.label_noise: {noise!r} lists a level twice")
    n = section["n_train"]
    check_batch_size(config, f"{NAME}.batch_size", section["batch_size"], f"{NAME}.n_train")
    eval_n = section.get("eval_train_size")
    if eval_n is not None and eval_n > n:
        raise GenlabError(f"{key}.eval_train_size: {eval_n} exceeds n_train {n}")
    positive = [p for p in noise if p > 0]
    if positive and round(min(positive) * n) == 0:  # genlab.corrupt.n_chosen, not imported (torch)
        p = min(positive)
        raise GenlabError(f"{key}.label_noise: {p!r} of n_train {n} images chooses no example (round({p!r} * {n}) = 0)")


# ---------------------------------------------------------------- the summary table


def thresholds(frame: pd.DataFrame) -> dict[float, float]:
    """label_noise -> the interpolation threshold: the smallest width whose mean final train_error over
    seeds is <= INTERPOLATION_MAX_TRAIN_ERROR; NaN where no width fits its training set."""
    out = {}
    for p, rows in frame.groupby("label_noise", sort=True):
        mean = rows.groupby("width")["train_error"].mean().sort_index()
        fitted = mean[mean <= INTERPOLATION_MAX_TRAIN_ERROR]
        out[float(p)] = float(fitted.index[0]) if len(fitted) else math.nan
    return out


def summary(metrics_csv: str | Path, specs: dict[str, dict]) -> pd.DataFrame:
    """One row per run and seed from the metrics table; `specs` maps run names to run_spec's dict."""
    from ..plots import read_table

    metrics = read_table(metrics_csv, ["run", "seed", "arch", "width", "n_params", "epochs", "n_train", "lr", "batch_size",
                                       "train_loss", "train_accuracy", "test_loss", "test_accuracy"])
    if metrics.empty:
        raise GenlabError(f"{metrics_csv}: no rows")
    unknown = sorted(set(metrics["run"].astype(str)) - set(specs))
    if unknown:
        raise GenlabError(f"{metrics_csv}: run {unknown[0]!r} is not a double_descent run of the config")
    frame = pd.DataFrame({
        "model": metrics["arch"].astype(str),
        "width": metrics["width"].astype(int),
        "n_params": metrics["n_params"].astype(int),
        "label_noise": [specs[str(r)]["label_noise"] for r in metrics["run"]],
        "seed": metrics["seed"].astype(int),
        "train_error": 1.0 - metrics["train_accuracy"].astype(float),
        "test_error": 1.0 - metrics["test_accuracy"].astype(float),
        "train_loss": metrics["train_loss"].astype(float),
        "test_loss": metrics["test_loss"].astype(float),
        "epochs": metrics["epochs"].astype(int),
        "n_train": metrics["n_train"].astype(int),
        "lr": metrics["lr"].astype(float),
        "batch_size": metrics["batch_size"].astype(int),
        "n_test_eval": metrics["n_test_eval"] if "n_test_eval" in metrics else None,
    })
    found = thresholds(frame)
    frame["threshold_width"] = frame["label_noise"].map(found)
    by_width = dict(zip(frame["width"], frame["n_params"]))
    frame["threshold_n_params"] = frame["threshold_width"].map(lambda w: by_width.get(w, math.nan))
    frame = frame.sort_values(["label_noise", "width", "seed"], kind="stable").reset_index(drop=True)
    for column in ("threshold_width", "threshold_n_params", "n_test_eval"):
        frame[column] = frame[column].astype("Int64")  # integers, an empty cell where no width fitted
    return frame[SUMMARY_COLUMNS]


def write_summary(metrics_csv: str | Path, specs: dict[str, dict], out_csv: str | Path) -> None:
    frame = summary(metrics_csv, specs)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def specs_by_run(config: dict) -> dict[str, dict]:
    """run name -> run_spec, what the summary rule is given."""
    return _specs(config[NAME])


# ---------------------------------------------------------------- claims

# A second descent: the largest width's test error at least 2 points below the peak. With the
# 2000+ test images the presets evaluate, one run's test error has a binomial standard deviation of
# at most 0.011 (0.005 on the whole test set), so two points is a drop no single evaluation fakes.
SECOND_DESCENT_MIN_DROP = 0.02
# The peak is "at" the threshold when it is the threshold width or its neighbour in the list of
# widths: at most one position away (positions are integers, so the verdict's line is 1.5).
PEAK_MAX_POSITIONS = 1
MIN_WIDTHS = 3  # a peak needs a width on each side of it
CLAIM_COLUMNS = ["width", "label_noise", "seed", "train_error", "test_error"]


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"summary": [SUMMARY_CSV]}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    found = ev.table(inputs, "summary", CLAIM_COLUMNS)
    return judge(*found) if found else []


def _curves(df: pd.DataFrame) -> dict[float, pd.Series]:
    """label_noise -> mean test error over seeds, indexed by width (increasing)."""
    return {float(p): rows.groupby("width")["test_error"].mean().sort_index() for p, rows in df.groupby("label_noise", sort=True)}


def _peak(curve: pd.Series) -> int:
    """The position (in the list of widths) of the highest test error."""
    return int(np.argmax(curve.to_numpy()))


def _height(curve: pd.Series) -> float:
    """The peak's height above the largest width's test error."""
    values = curve.to_numpy()
    return float(values.max() - values[-1])


def _distance(df: pd.DataFrame) -> float:
    """The largest distance, over noise levels p > 0, in positions of the widths list, between the peak and
    the measured threshold; infinite where a level has no threshold, NaN where no level has p > 0."""
    found, worst = thresholds(df), math.nan
    for p, curve in _curves(df).items():
        if p <= 0:
            continue
        t = found[p]
        d = math.inf if math.isnan(t) else abs(_peak(curve) - list(curve.index).index(t))
        worst = d if math.isnan(worst) else max(worst, d)
    return worst


def _drop(df: pd.DataFrame) -> float:
    """The smallest, over p > 0, drop of test error from the peak to the largest width."""
    heights = [_height(c) for p, c in _curves(df).items() if p > 0]
    return min(heights) if heights else math.nan


def _growth(df: pd.DataFrame) -> float:
    """The smallest rise of the peak's height between neighbouring noise levels."""
    heights = [_height(c) for c in _curves(df).values()]
    return float(np.diff(heights).min()) if len(heights) > 1 else math.nan


def _rise(curve: pd.Series) -> float:
    """How far the test error climbs above its lowest value at any smaller width (<= 0: it never rises)."""
    values = curve.to_numpy()
    return float(max(values[j] - values[:j].min() for j in range(1, len(values)))) if len(values) > 1 else math.nan


def _clean_rise(df: pd.DataFrame) -> float:
    curve = _curves(df).get(0.0)
    return _rise(curve) if curve is not None else math.nan


def judge(summary: pd.DataFrame, source: str = "double_descent summary") -> list[dict]:
    """The claims on the model-wise curves: mean test error over seeds per width and noise level.

    peak_near_threshold   for every p > 0 the width of highest test error is the measured threshold
                          or its neighbour in the widths list (largest distance <= PEAK_MAX_POSITIONS);
                          inconclusive where a level never fits (no threshold)
    second_descent        for every p > 0 the largest width's test error is at least SECOND_DESCENT_MIN_DROP
                          below the peak, the peak lying beyond the smallest width (a curve falling from
                          its first width has one descent, not two: not held)
    peak_grows_with_noise the peak's height above the largest width's error rises from each noise
                          level to the next (the smallest rise above 0)
    finding_no_peak_without_noise  Nakkiran et al.: at p = 0 the test error rises by less than
                          SECOND_DESCENT_MIN_DROP above its lowest value at a smaller width (a plateau)
    Intervals: a bootstrap over seeds, or with one seed the binomial error of each test error.
    """
    df = ev.checked(summary, CLAIM_COLUMNS, source)
    extra = [c for c in ("n_test_eval",) if c in df.columns]
    df = ev.numeric(df, [*CLAIM_COLUMNS, *extra], source, allow_empty=extra)
    df["label_noise"] = df["label_noise"].round(9)
    names = ("peak_near_threshold", "second_descent", "peak_grows_with_noise", "finding_no_peak_without_noise")
    curves = _curves(df)
    n_widths = min(len(c) for c in curves.values())
    if n_widths < MIN_WIDTHS:
        why = f"{n_widths} width(s) at a noise level, at least {MIN_WIDTHS} needed"
        return [ev.untestable(NAME, name, why) for name in names]
    n_seeds = int(df["seed"].nunique())
    note = ev.seeds_note(n_seeds)
    has_noise = "n_test_eval" in df.columns and df["n_test_eval"].notna().all()

    def interval(statistic):
        if n_seeds < 2 and not has_noise:
            return math.nan, math.nan
        return stats.claim_interval(df, statistic, {"test_error": ("binomial", "n_test_eval")})

    found = thresholds(df)
    listing = "; ".join(
        f"p={p:g}: peak {ev.acc(c.max())} at width {int(c.index[_peak(c)])}, threshold "
        f"{'none' if math.isnan(found[p]) else int(found[p])}, largest width {ev.acc(c.iloc[-1])}"
        for p, c in curves.items()
    )
    noisy = [p for p in curves if p > 0]
    out = []
    if not noisy:
        why = "no noise level above 0"
        out += [ev.untestable(NAME, "peak_near_threshold", why), ev.untestable(NAME, "second_descent", why)]
    else:
        unfitted = [p for p in noisy if math.isnan(found[p])]
        distance = _distance(df)
        text = (f"{listing}; largest distance between peak and threshold {ev.num(distance)} position(s) "
                f"(need <= {PEAK_MAX_POSITIONS})")
        if unfitted:
            out.append(ev.claim(NAME, "peak_near_threshold", stats.INCONCLUSIVE,
                                text + f"; no width reached train error <= {INTERPOLATION_MAX_TRAIN_ERROR:g} at p = "
                                + ", ".join(f"{p:g}" for p in unfitted) + note, distance, math.nan, math.nan, n_seeds))
        else:
            out.append(ev.judged(NAME, "peak_near_threshold", distance, interval(_distance), PEAK_MAX_POSITIONS + 0.5,
                                 False, n_seeds, text + note))
        drop = _drop(df)
        at_first = [p for p in noisy if _peak(curves[p]) == 0]
        verdicts = [stats.verdict(*interval(_drop), SECOND_DESCENT_MIN_DROP, rising=True)]
        text = (f"test error from the peak to the largest width, smallest over p > 0: {ev.acc(drop)} "
                f"(need >= {ev.acc(SECOND_DESCENT_MIN_DROP)})")
        if at_first:
            verdicts.append(stats.NOT_HELD)
            text += "; no rise before the peak at p = " + ", ".join(f"{p:g}" for p in at_first) + " (highest at the smallest width)"
        out.append(ev.judged(NAME, "second_descent", drop, interval(_drop), SECOND_DESCENT_MIN_DROP, True, n_seeds,
                             text + note, verdict=stats.combined(verdicts)))
    if len(curves) < 2:
        out.append(ev.untestable(NAME, "peak_grows_with_noise", f"{len(curves)} noise level(s), at least 2 needed"))
    else:
        heights = ", ".join(f"p={p:g}: {ev.acc(_height(c))}" for p, c in curves.items())
        out.append(ev.judged(NAME, "peak_grows_with_noise", _growth(df), interval(_growth), 0.0, True, n_seeds,
                             f"peak height above the largest width's test error {heights}; the smallest rise between "
                             f"neighbouring levels {ev.signed(_growth(df))} (need > 0)" + note))
    if 0.0 not in curves:
        out.append(ev.untestable(NAME, "finding_no_peak_without_noise", "no run at label noise 0"))
    else:
        rise = _clean_rise(df)
        out.append(ev.judged(NAME, "finding_no_peak_without_noise", rise, interval(_clean_rise), SECOND_DESCENT_MIN_DROP,
                             False, n_seeds,
                             f"Nakkiran et al. 2019: without label noise the curve may only plateau; at p=0 the test error "
                             f"climbs {ev.signed(rise)} above its lowest value at a smaller width (a peak: >= "
                             f"{ev.acc(SECOND_DESCENT_MIN_DROP)})" + note))
    return out
