"""Which checkpoints are measured, the paths of their tables and figures, and what each job is given.

Measured checkpoints: every run and seed of each experiment both listed in measures.experiments
and chosen by the config (genlab.experiments.chosen), when measures.measures lists a kind.
Landscapes: the runs listed in measures.landscape.runs whose experiment is chosen, every seed.
Torch-free: the workflow's parse step, the claims and the estimate use it.
"""

from __future__ import annotations

from .. import experiments
from ..plan import all_runs, train_config
from . import get, landscape, listed, names, own_keys

TABLE = "results/measures/all.csv"
RANKING = "results/measures/ranking.csv"
FIGURES = {
    "landscape_1d": "image/Flatness_landscape_1d.png",
    "landscape_2d": "image/Flatness_landscape_2d.png",
    "vs_generalization": "image/Measures_vs_generalization.png",
}


def measured_experiments(config: dict) -> list[str]:
    """The experiments whose checkpoints the `measure` jobs measure, in registry order."""
    section = config["measures"]
    if not listed(section):
        return []
    return [e for e in experiments.chosen(config) if e in section["experiments"]]


def measured_checkpoints(config: dict) -> list[tuple[str, str, int]]:
    """(experiment, run, seed) of every measured checkpoint, in the study's order."""
    return [(e, run, seed) for e in measured_experiments(config) for run, seed in all_runs(config, e)]


def measure_options(config: dict) -> dict:
    """What a `measure` job is given: the shared keys and the keys of the kinds it computes.

    Keys of kinds it does not compute are left out, so changing them reruns no measure job.
    """
    section = config["measures"]
    kinds = listed(section)
    return {
        "measures": kinds,
        "n_points": section["n_points"],
        "seed": section["seed"],
        **{key: section[key] for key in own_keys(kinds)},
    }


def landscape_options(config: dict) -> dict:
    """What a `landscape` job is given: the landscape settings, less the list of runs drawn."""
    section = config["measures"]
    return {"landscape": {k: v for k, v in section["landscape"].items() if k != "runs"}, "seed": section["seed"]}


def measure_tables(config: dict) -> list[str]:
    return [f"results/measures/{e}/{run}/seed{seed}.csv" for e, run, seed in measured_checkpoints(config)]


def extra_tables(config: dict) -> list[tuple[str, str, str]]:
    """(csv, measure name, value column) of the per-checkpoint tables measured experiments add to
    the measure table (their module's optional checkpoint_measures(config))."""
    found = []
    for name in measured_experiments(config):
        checkpoint_measures = getattr(experiments.get(name), "checkpoint_measures", None)
        if checkpoint_measures is not None:
            found += [tuple(entry) for entry in checkpoint_measures(config)]
    return found


def extra_csvs(config: dict) -> list[str]:
    return [csv for csv, _, _ in extra_tables(config)]


def metrics_tables(config: dict) -> list[str]:
    return [f"results/metrics/{e}.csv" for e in measured_experiments(config)]


def landscape_checkpoints(config: dict) -> list[tuple[str, str, int]]:
    return landscape.checkpoints(config)


def landscape_experiments(config: dict) -> list[str]:
    return list(dict.fromkeys(e for e, _ in landscape.runs(config)))


def landscape_labels(config: dict) -> dict[str, tuple[str, str]]:
    """Figure label -> (experiment, run): "A (batch 1024)", with the experiment when several are drawn."""
    runs = landscape.runs(config)
    several = len({e for e, _ in runs}) > 1
    labels = {}
    for experiment, run in runs:
        cfg = train_config(config, experiment, run, experiments.seeds(config, experiment)[0])
        name = f"{experiment} {run}" if several else run
        labels[f"{name} (batch {cfg.batch_size})"] = (experiment, run)
    return labels


def landscape_curves(config: dict, kind: str) -> dict[str, list[str]]:
    """Figure label -> the landscape CSVs of that checkpoint, one per seed; kind "1d" or "2d"."""
    return {
        label: [f"results/landscape/{e}/{run}/seed{seed}_{kind}.csv" for seed in experiments.seeds(config, e)]
        for label, (e, run) in landscape_labels(config).items()
    }


def landscape_tables(config: dict, kind: str) -> list[str]:
    return [path for paths in landscape_curves(config, kind).values() for path in paths]


def outputs(config: dict) -> list[str]:
    """The measure tables and figures the config asks for (rule all, rule measures)."""
    found = []
    if measured_checkpoints(config):
        found += [TABLE, RANKING, FIGURES["vs_generalization"]]
    if landscape_checkpoints(config):
        found += [FIGURES["landscape_1d"], FIGURES["landscape_2d"]]
    return found



# ---------------------------------------------------------------- the jobs, for the cost model


def jobs_by_kind(config: dict) -> dict[str, list[tuple[str, str, int]]]:
    """Job rule -> the checkpoints it runs on: "measure" (every per-checkpoint kind at once), then
    each kind with a job of its own (PER_CHECKPOINT False), from its checkpoints(config)."""
    jobs = {"measure": measured_checkpoints(config)}
    for kind in names():
        module = get(kind)
        if not module.PER_CHECKPOINT:
            jobs[kind] = module.checkpoints(config)
    return {rule: checkpoints for rule, checkpoints in jobs.items() if checkpoints}


def table_jobs(config: dict) -> list[str]:
    """The light table rules the config runs."""
    return ["measures_table", "measures_ranking"] if measured_checkpoints(config) else []


def figure_jobs(config: dict) -> list[str]:
    """The figures (keys of FIGURES) the config draws."""
    wanted = outputs(config)
    return [key for key, path in FIGURES.items() if path in wanted]
