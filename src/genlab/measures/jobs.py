"""The flatness measures as workflow steps: config checks, the per-checkpoint jobs, tables and figures.

config key  measures (experiments, measures, n_points, seed, hessian, keskar_eps, keskar_steps,
            keskar_lr, average_sigma, samples, landscape): types by the JSON schema, cross-key
            rules by `check` (parse time, one line naming the key)
jobs        measure_job: every requested measure of one checkpoint (genlab.measures.suite) on
            the first n_points images of the run's own training subset, with the labels it
            trained on (permuted or noisy ones included) and its (corrupted) inputs
            landscape_job: 1-D and 2-D loss landscapes of one checkpoint (genlab.measures.landscape)
rules       workflow/rules/measures.smk
tables      results/measures/{experiment}/{run}/seed{k}.csv (MEASURE_COLUMNS, one row per measure),
            results/measures/all.csv (the same columns: every measure table, plus experiment 4's
            per-checkpoint sensitivity as measure "sensitivity"), results/measures/ranking.csv,
            results/landscape/{experiment}/{run}/seed{k}_1d.csv and _2d.csv (LANDSCAPE_*_COLUMNS)
figures     FIGURES, drawn from those CSVs by genlab.measures.figures

Nothing here imports torch at module level: the workflow calls `check` while it parses.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence

from .. import plan
from ..errors import GenlabError

log = logging.getLogger("genlab")

NAME = "measures"
MEASURES = ("hessian", "keskar", "average_sharpness")  # the names measures.measures may list
MEASURE_COLUMNS = ["experiment", "run", "seed", "measure", "value", "n_points", "std_error", "steps", "converged"]
LANDSCAPE_1D_COLUMNS = ["experiment", "run", "seed", "direction_seed", "t", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
LANDSCAPE_2D_COLUMNS = [
    "experiment", "run", "seed", "direction_seed_1", "direction_seed_2",
    "t1", "t2", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
]
MIN_GRID = 3  # -1, 0, 1
FIGURES = {
    "sharpness_vs_batch_size": "image/Sharpness_vs_batch_size.png",
    "landscape_1d": "image/Flatness_landscape_1d.png",
    "landscape_2d": "image/Flatness_landscape_2d.png",
    "vs_generalization": "image/Measures_vs_generalization.png",
}
TABLE = "results/measures/all.csv"
RANKING = "results/measures/ranking.csv"
PLOT_KINDS = ("ranking", *FIGURES)

# ---------------------------------------------------------------- config


def _key(name: str) -> str:
    return f"config key {NAME}.{name}"


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unique(values: Sequence, name: str, allowed: Sequence[str] | None = None) -> None:
    seen = set()
    for value in values:
        if allowed is not None and value not in allowed:
            raise GenlabError(f"{_key(name)}: {value!r} is not one of {', '.join(allowed)}")
        if value in seen:
            raise GenlabError(f"{_key(name)}: {value!r} is listed twice")
        seen.add(value)


def measure_suffix(value: float) -> str:
    """genlab.measures.suite.measure_suffix (repeated here: that module loads torch): repr(float(value))."""
    return repr(float(value))


def keskar_name(eps: float) -> str:
    return f"keskar_{measure_suffix(eps)}"


def _scales(section: dict, name: str) -> None:
    """keskar_eps / average_sigma: finite numbers > 0, no two giving the same measure name."""
    values = section[name]
    for value in values:
        if not _number(value) or value <= 0:
            raise GenlabError(f"{_key(name)}: {value!r} must be a number > 0")
    names = [measure_suffix(v) for v in values]
    for i, suffix in enumerate(names):
        if suffix in names[:i]:
            raise GenlabError(f"{_key(name)}: {values[i]!r} is listed twice")


def _at_least(section: dict, name: str, low: int, why: str = "") -> None:
    parts = name.split(".")
    value = section
    for part in parts:
        value = value[part]
    if not _integer(value) or value < low:
        raise GenlabError(f"{_key(name)}: {value!r} must be an integer >= {low}{why}")


def landscape_run(entry: str) -> tuple[str, str]:
    """"interpolation/A" -> ("interpolation", "A")."""
    experiment, sep, run = str(entry).partition("/")
    if not sep or not experiment or not run:
        raise GenlabError(f"{_key('landscape.runs')}: {entry!r} is not of the form experiment/run (e.g. interpolation/A)")
    return experiment, run


def check(config: dict) -> None:
    """The cross-key rules of config["measures"] the schema cannot state; one-line GenlabError naming the key."""
    section = config[NAME]
    _unique(section["experiments"], "experiments", plan.EXPERIMENTS)
    _unique(section["measures"], "measures", MEASURES)
    _at_least(section, "n_points", 1)
    for experiment in plan.EXPERIMENTS:
        if experiment in section["experiments"] and section["n_points"] > config[experiment]["n_train"]:
            raise GenlabError(
                f"{_key('n_points')}: {section['n_points']} exceeds {experiment}.n_train ({config[experiment]['n_train']}), "
                "the training subset its checkpoints are measured on"
            )
    _at_least(section, "seed", 0)
    hessian = section["hessian"]
    _at_least(section, "hessian.k", 1)
    _at_least(section, "hessian.iters", hessian["k"] + 1, " (hessian.k + 1: Lanczos needs k + 1 steps for the k largest and the smallest eigenvalue)")
    probes = hessian["probes"]
    if not _integer(probes) or probes < 0 or probes == 1:
        raise GenlabError(f"{_key('hessian.probes')}: {probes!r} must be 0 (no trace) or an integer >= 2 (for a standard error)")
    if not _number(hessian["tol"]) or hessian["tol"] <= 0:
        raise GenlabError(f"{_key('hessian.tol')}: {hessian['tol']!r} must be a number > 0")
    _scales(section, "keskar_eps")
    _scales(section, "average_sigma")
    _at_least(section, "keskar_steps", 1)
    if not _number(section["keskar_lr"]) or section["keskar_lr"] <= 0:
        raise GenlabError(f"{_key('keskar_lr')}: {section['keskar_lr']!r} must be a number > 0")
    _at_least(section, "samples", 2, " (for a standard error)")
    for measure, key in (("keskar", "keskar_eps"), ("average_sharpness", "average_sigma")):
        if measure in section["measures"] and not section[key]:
            raise GenlabError(f"{_key(key)}: empty, but measures.measures lists {measure}")
    landscape = section["landscape"]
    seen = set()
    for entry in landscape["runs"]:
        experiment, run = landscape_run(entry)
        if experiment not in plan.EXPERIMENTS:
            raise GenlabError(f"{_key('landscape.runs')}: {entry!r} names unknown experiment {experiment!r} (one of {', '.join(plan.EXPERIMENTS)})")
        names = plan.run_names(config, experiment)
        if run not in names:
            raise GenlabError(f"{_key('landscape.runs')}: {entry!r}: {experiment} has no run {run!r} (runs: {', '.join(names)})")
        if (experiment, run) in seen:
            raise GenlabError(f"{_key('landscape.runs')}: {entry!r} is listed twice")
        seen.add((experiment, run))
        size = landscape["eval_train_size"]
        if size is not None and size > config[experiment]["n_train"]:
            raise GenlabError(f"{_key('landscape.eval_train_size')}: {size} exceeds {experiment}.n_train ({config[experiment]['n_train']})")
    for name in ("points_1d", "points_2d"):
        value = landscape[name]
        if not _integer(value) or value < MIN_GRID:
            raise GenlabError(f"{_key('landscape.' + name)}: {value!r} must be an integer >= {MIN_GRID} (t from -1 to 1 through 0)")
        if value % 2 == 0:
            raise GenlabError(f"{_key('landscape.' + name)}: {value} must be odd, so that t = 0 (the checkpoint itself) is a grid point")
    _at_least(section, "landscape.seed", 0)


def check_against_data(config: dict) -> None:
    """The landscape's test evaluation set must fit the test split (skipped until MNIST exists)."""
    from pathlib import Path

    from ..idx import split_size

    size = config[NAME]["landscape"]["eval_test_size"]
    have = split_size(config["data_root"], "test")
    if config[NAME]["landscape"]["runs"] and size is not None and have is not None and size > have:
        raise GenlabError(f"{_key('landscape.eval_test_size')}: {size} exceeds the {have} test images in {Path(config['data_root']) / 'MNIST/raw'}")


def spec(config: dict) -> dict:
    """The measure spec genlab.measures.suite.run_measures takes, from the measures listed in the config."""
    section = config[NAME]
    out: dict = {}
    if "hessian" in section["measures"]:
        out["hessian"] = dict(section["hessian"])
    if "keskar" in section["measures"]:
        out.update(keskar_eps=list(section["keskar_eps"]), keskar_steps=section["keskar_steps"], keskar_lr=section["keskar_lr"])
    if "average_sharpness" in section["measures"]:
        out.update(average_sigma=list(section["average_sigma"]), samples=section["samples"])
    return out


def measured_checkpoints(config: dict) -> list[tuple[str, str, int]]:
    """(experiment, run, seed) of every measured checkpoint, in the study's order (none when no measure is asked)."""
    section = config[NAME]
    if not section["measures"]:
        return []
    return [(e, run, seed) for e in plan.EXPERIMENTS if e in section["experiments"] for run, seed in plan.all_runs(config, e)]


def measured_experiments(config: dict) -> list[str]:
    return list(dict.fromkeys(e for e, _, _ in measured_checkpoints(config)))


def landscape_checkpoints(config: dict) -> list[tuple[str, str, int]]:
    return [(*landscape_run(entry), seed) for entry in config[NAME]["landscape"]["runs"] for seed in config["seeds"]]


def landscape_labels(config: dict) -> dict[str, tuple[str, str]]:
    """Figure label -> (experiment, run): "A (batch 1024)", with the experiment when several are drawn."""
    runs = [landscape_run(entry) for entry in config[NAME]["landscape"]["runs"]]
    several = len({e for e, _ in runs}) > 1
    labels = {}
    for experiment, run in runs:
        cfg = plan.train_config(config, experiment, run, config["seeds"][0])
        name = f"{experiment} {run}" if several else run
        labels[f"{name} (batch {cfg.batch_size})"] = (experiment, run)
    return labels


def measure_tables(config: dict) -> list[str]:
    return [f"results/measures/{e}/{run}/seed{seed}.csv" for e, run, seed in measured_checkpoints(config)]


def sensitivity_tables(config: dict) -> list[str]:
    """Experiment 4's per-checkpoint sensitivity tables (rule sensitivity_measure), when it is measured."""
    if "sensitivity" not in measured_experiments(config):
        return []
    return [f"results/sensitivity/{run}/seed{seed}.csv" for run, seed in plan.all_runs(config, "sensitivity")]


def metrics_tables(config: dict) -> list[str]:
    return [f"results/metrics/{e}.csv" for e in measured_experiments(config)]


def landscape_curves(config: dict, kind: str) -> dict[str, list[str]]:
    """Figure label -> the landscape CSVs of that checkpoint, one per seed; kind "1d" or "2d"."""
    return {
        label: [f"results/landscape/{e}/{run}/seed{seed}_{kind}.csv" for seed in config["seeds"]]
        for label, (e, run) in landscape_labels(config).items()
    }


def landscape_tables(config: dict, kind: str) -> list[str]:
    return [path for paths in landscape_curves(config, kind).values() for path in paths]


def sharpness_options(config: dict) -> dict:
    """The sharpness figure's Keskar measure: that of the first keskar_eps."""
    eps = config[NAME]["keskar_eps"]
    return {"keskar_measure": keskar_name(eps[0]) if eps else None}


def outputs(config: dict) -> list[str]:
    """The measure tables and figures the config asks for (rule all, rule measures)."""
    found = []
    if measured_checkpoints(config):
        found += [TABLE, RANKING, FIGURES["vs_generalization"]]
        if "sensitivity" in measured_experiments(config) and "keskar" in config[NAME]["measures"]:
            found.append(FIGURES["sharpness_vs_batch_size"])
    if landscape_checkpoints(config):
        found += [FIGURES["landscape_1d"], FIGURES["landscape_2d"]]
    return found


def grid(points: int) -> list[float]:
    """points values from -1 to 1: (2 i - (n - 1)) / (n - 1), so -1, 0 (n odd) and 1 are exact."""
    return [(2 * i - (points - 1)) / (points - 1) for i in range(points)]


# ---------------------------------------------------------------- jobs


def _load(checkpoint: str, planned: dict, subset_path: str, data_root: str, fingerprint: dict, threads: int, device: str, n_test: int | None):
    from ..checkpoint import load_planned, model_for
    from ..data import load_job_data
    from ..device import configure, describe, pick_device

    ckpt = load_planned(checkpoint, planned, fingerprint)  # a checkpoint of another run fails here, in one line
    cfg = ckpt["config"]
    dev = pick_device(device)
    configure(threads, dev)
    log.info("%s on %s", cfg.describe(), describe(dev))
    data = load_job_data(subset_path, cfg, data_root, fingerprint, dev, n_test=n_test)
    model = model_for(ckpt, checkpoint).to(dev)  # fp32 whatever precision it trained in
    return ckpt, cfg, model, data


def _first(data, n: int, key: str, cfg):
    have = len(data.y_train)
    if n > have:
        raise GenlabError(f"config key {key}: {n} exceeds the {have} training images of {cfg.experiment}/{cfg.run}")
    return data.x_train[:n], data.y_train[:n]


def measure_job(
    checkpoint: str, planned: dict, subset_path: str, data_root: str, out: str, spec: dict, n_points: int,
    seed: int, fingerprint: dict, threads: int = 1, device: str = "auto", chunk_size: int = 1000,
) -> list[dict]:
    """Every measure of `spec` on one checkpoint: L = mean fp32 cross-entropy over the first n_points
    images of the run's training subset with the labels it trained on. Writes MEASURE_COLUMNS rows."""
    from ..atomic import write_csv
    from .suite import run_measures

    _, cfg, model, data = _load(checkpoint, planned, subset_path, data_root, fingerprint, threads, device, n_test=0)
    x, y = _first(data, n_points, f"{NAME}.n_points", cfg)
    kinds = {  # one call per kind, so the log shows what each costs; rows in run_measures' order
        "hessian": ("hessian",),
        "keskar": ("keskar_eps", "keskar_steps", "keskar_lr"),
        "average_sharpness": ("average_sigma", "samples"),
    }
    rows = []
    for kind, keys in kinds.items():
        part = {k: spec[k] for k in keys if k in spec}
        if not part:
            continue
        start = time.perf_counter()
        found = run_measures(model, x, y, part, seed, chunk_size)
        log.info("%s: %d values in %.1f s", kind, len(found), time.perf_counter() - start)
        rows += found
    rows = [{"experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed, **row} for row in rows]
    write_csv(out, rows, MEASURE_COLUMNS)
    log.info("%d measures of %s over %d points -> %s", len(rows), cfg.describe(), n_points, out)
    return rows


def landscape_job(
    checkpoint: str, planned: dict, subset_path: str, data_root: str, out_1d: str, out_2d: str,
    points_1d: int, points_2d: int, eval_train_size: int | None, eval_test_size: int | None, direction_seed: int,
    fingerprint: dict, threads: int = 1, device: str = "auto", chunk_size: int = 1000,
) -> tuple[list[dict], list[dict]]:
    """Loss and accuracy at theta + t d (t in [-1, 1]) and theta + t1 d1 + t2 d2 on a grid, train and test.

    d = d1 is the filter-normalised direction drawn from direction_seed, d2 the one from
    direction_seed + 1; both seeds are columns of the CSVs. Train: the first eval_train_size
    images of the run's subset with the labels trained on; test: the first eval_test_size test images.
    """
    from ..atomic import write_csv
    from .landscape import filter_normalized_direction, landscape_1d, landscape_2d

    _, cfg, model, data = _load(checkpoint, planned, subset_path, data_root, fingerprint, threads, device, n_test=eval_test_size)
    if eval_train_size is not None:
        _first(data, eval_train_size, f"{NAME}.landscape.eval_train_size", cfg)
    data = data.head(eval_train_size, None)
    seeds = (direction_seed, direction_seed + 1)
    d1, d2 = (filter_normalized_direction(model, s) for s in seeds)
    ident = {"experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed}
    start = time.perf_counter()
    ts = grid(points_1d)
    rows_1d = [{**ident, "direction_seed": seeds[0], **row} for row in landscape_1d(model, data.x_train, data.y_train, data.x_test, data.y_test, d1, ts, chunk_size)]
    write_csv(out_1d, rows_1d, LANDSCAPE_1D_COLUMNS)
    log.info("1-D landscape, %d points, in %.1f s -> %s", len(rows_1d), time.perf_counter() - start, out_1d)
    start = time.perf_counter()
    ts = grid(points_2d)
    rows_2d = [
        {**ident, "direction_seed_1": seeds[0], "direction_seed_2": seeds[1], **row}
        for row in landscape_2d(model, data.x_train, data.y_train, data.x_test, data.y_test, d1, d2, ts, ts, chunk_size)
    ]
    write_csv(out_2d, rows_2d, LANDSCAPE_2D_COLUMNS)
    log.info("2-D landscape, %d points, in %.1f s -> %s", len(rows_2d), time.perf_counter() - start, out_2d)
    return rows_1d, rows_2d


# ---------------------------------------------------------------- tables and figures


def measures_table(measure_csvs: Sequence[str], sensitivity_csvs: Sequence[str] = ()):
    """Every measure table stacked, cells as written (so reruns are byte-identical), plus one row
    "sensitivity" per experiment-4 table. Stable order: experiment (study order), run (order of
    first appearance), seed; a checkpoint's rows keep their order, its sensitivity last."""
    import pandas as pd

    from ..plots import read_table

    frames = [read_table(path, MEASURE_COLUMNS, as_text=True) for path in measure_csvs]
    for path in sensitivity_csvs:
        sens = read_table(path, ["experiment", "run", "seed", "n_points", "sensitivity"], as_text=True)
        frames.append(sens[["experiment", "run", "seed", "n_points"]].assign(measure="sensitivity", value=sens["sensitivity"]))
    if not frames or all(f.empty for f in frames):
        raise GenlabError(f"{TABLE}: no measure rows to combine")
    df = pd.concat([f.reindex(columns=MEASURE_COLUMNS) for f in frames], ignore_index=True).fillna("")
    unknown = sorted(set(df["experiment"]) - set(plan.EXPERIMENTS))
    if unknown:
        raise GenlabError(f"{TABLE}: unknown experiment {unknown[0]!r} in the measure tables")
    twice = df.duplicated(["experiment", "run", "seed", "measure"])
    if twice.any():
        row = df[twice].iloc[0]
        raise GenlabError(f"{TABLE}: measure {row['measure']} of {row['experiment']}/{row['run']} seed {row['seed']} appears twice")
    runs = {run: i for i, run in enumerate(dict.fromkeys(df["run"]))}
    key = pd.DataFrame({
        "experiment": df["experiment"].map(plan.EXPERIMENTS.index),
        "run": df["run"].map(runs),
        "seed": pd.to_numeric(df["seed"]),
    })
    order = key.sort_values(list(key.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def measures_table_job(measure_csvs: Sequence[str], sensitivity_csvs: Sequence[str], out: str) -> None:
    from ..atomic import write_csv

    table = measures_table(measure_csvs, sensitivity_csvs)
    write_csv(out, table, MEASURE_COLUMNS)
    log.info("%d rows from %d measure and %d sensitivity tables -> %s", len(table), len(measure_csvs), len(sensitivity_csvs), out)


def plot_job(
    kind: str, out: str, table: str | None = None, metrics: Sequence[str] = (),
    curves: Mapping[str, Sequence[str]] | None = None, keskar_measure: str | None = None,
) -> None:
    """One measure figure (FIGURES' keys) or the ranking table ("ranking"), from CSVs only."""
    from . import figures

    metrics = list(metrics)
    if kind == "ranking":
        from ..atomic import write_csv

        write_csv(out, figures.ranking(table, metrics), ["measure", "kendall_tau", "n_checkpoints"])
    elif kind == "vs_generalization":
        figures.plot_measures_vs_generalization(table, metrics, out)
    elif kind == "sharpness_vs_batch_size":
        figures.plot_sharpness_vs_batch_size(table, metrics, out, keskar_measure)
    elif kind == "landscape_1d":
        figures.plot_landscape_1d({label: list(paths) for label, paths in curves.items()}, out)
    elif kind == "landscape_2d":
        figures.plot_landscape_2d({label: list(paths) for label, paths in curves.items()}, out)
    else:
        raise GenlabError(f"unknown measure output {kind!r}, expected one of {', '.join(PLOT_KINDS)}")
    log.info("%s -> %s", kind, out)
