"""From the workflow config to concrete jobs: runs, training configs, subsets, provenance.

The Snakemake rules only wire files together; which runs an experiment has and what each
one trains with is decided by the experiment's module (found through genlab.experiments),
and what every downstream result depends on (its provenance digest) is decided here.
"""

from __future__ import annotations

import hashlib
import json

from . import experiments
from .config import TrainConfig
from .experiments._shared import run_files, runs, unknown_run  # noqa: F401 - run_files: the workflow reads it from here


def run_names(config: dict, experiment: str) -> list[str]:
    return experiments.get(experiment).run_names(config[experiment])


def all_runs(config: dict, experiment: str) -> list[tuple[str, int]]:
    return runs(config, experiment)


def run_paths(config: dict, experiment: str, pattern: str) -> list[str]:
    """`pattern` ("...{run}...{seed}...") filled in for every run and seed of an experiment."""
    return [pattern.format(run=run, seed=seed) for run, seed in all_runs(config, experiment)]


def train_config(config: dict, experiment: str, run: str, seed: int | str) -> TrainConfig:
    """A run's TrainConfig; a run the config does not have is one line naming the experiment and its runs."""
    names = run_names(config, experiment)
    if run not in names:
        raise unknown_run(experiment, names, run)
    return experiments.get(experiment).train_config(config, run, seed)


def planned_configs(config: dict, experiment: str) -> list[TrainConfig]:
    return [train_config(config, experiment, run, seed) for run, seed in all_runs(config, experiment)]


def subset_name(experiment: str, run: str) -> str:
    """Runs that train on the same data share one subset file: results/subsets/<name>.pt."""
    return experiments.subset_name(experiment, run)


def subsets(config: dict) -> dict[str, dict]:
    """Every subset file the chosen experiments need, by name, with its parameters."""
    found: dict[str, dict] = {}
    for experiment in experiments.chosen(config):
        for run, seed in all_runs(config, experiment):
            found[subset_name(experiment, run)] = train_config(config, experiment, run, seed).subset()
    return found


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def provenance(config: dict, experiment: str, fingerprint: dict) -> dict:
    """Everything an experiment's tables and figures are made from (measures add their own settings).

    Its digest is a parameter of every downstream rule: a changed key reruns all it
    affects, even when files in between are missing or an earlier attempt failed.
    """
    record = {
        "experiment": experiment,
        "section": config[experiment],
        "runs": [cfg.to_dict() for cfg in planned_configs(config, experiment)],
        "data": fingerprint["digest"],
    }
    record["digest"] = digest(record)
    return record
