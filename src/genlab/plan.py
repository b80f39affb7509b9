"""From the workflow config to concrete jobs: runs, training configs, subsets, provenance.

The Snakemake rules only wire files together; which runs an experiment has and
what each one trains with is decided by the experiment's module, and what every
downstream result depends on (its provenance digest) is decided here, where it is tested.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import experiments
from .config import TrainConfig
from .errors import GenlabError
from .idx import split_size

EXPERIMENTS = experiments.NAMES


def run_names(config: dict, experiment: str) -> list[str]:
    return experiments.get(experiment).run_names(config[experiment])


def all_runs(config: dict, experiment: str) -> list[tuple[str, int]]:
    return [(run, seed) for run in run_names(config, experiment) for seed in config["seeds"]]


def run_paths(config: dict, experiment: str, pattern: str) -> list[str]:
    """`pattern` ("...{run}...{seed}...") filled in for every run and seed of an experiment."""
    return [pattern.format(run=run, seed=seed) for run, seed in all_runs(config, experiment)]


def train_config(config: dict, experiment: str, run: str, seed: int | str) -> TrainConfig:
    return experiments.get(experiment).train_config(config, run, seed)


def planned_configs(config: dict, experiment: str) -> list[TrainConfig]:
    return [train_config(config, experiment, run, seed) for run, seed in all_runs(config, experiment)]


def subset_name(experiment: str, run: str) -> str:
    """Runs that train on the same data share one subset file: results/subsets/<name>.pt."""
    return experiments.get(experiment).subset_name(run)


def subset_params(cfg: TrainConfig) -> dict:
    """What determines a training subset (and so its file); recorded in it and checked by every job."""
    return {
        "n_train": cfg.n_train,
        "seed": cfg.data_seed,
        "random_labels": cfg.random_labels,
        "label_noise": cfg.label_noise,
        "input_corruption": cfg.input_corruption,
    }


def subsets(config: dict) -> dict[str, dict]:
    """Every subset file the config needs, by name, with its parameters."""
    found: dict[str, dict] = {}
    for experiment in EXPERIMENTS:
        for run, seed in all_runs(config, experiment):
            found[subset_name(experiment, run)] = subset_params(train_config(config, experiment, run, seed))
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


def check(config: dict) -> None:
    """Cross-key checks of every experiment, at parse time, one line naming the key."""
    for experiment in EXPERIMENTS:
        experiments.get(experiment).check(config)


def check_against_data(config: dict) -> None:
    """Subsets larger than their split fail at parse time, before any job starts (skipped until MNIST exists)."""
    sizes = {split: split_size(config["data_root"], split) for split in ("train", "test")}
    where = Path(config["data_root"]) / "MNIST/raw"
    if sizes["train"] is not None:
        for experiment in EXPERIMENTS:
            n = config[experiment]["n_train"]
            if n > sizes["train"]:
                raise GenlabError(f"config key {experiment}.n_train: {n} exceeds the {sizes['train']} training images in {where}")
    if sizes["test"] is not None:
        for key, n in _test_sizes(config):
            if n is not None and n > sizes["test"]:
                raise GenlabError(f"config key {key}: {n} exceeds the {sizes['test']} test images in {where}")


def _test_sizes(config: dict):
    for experiment in EXPERIMENTS:
        yield f"{experiment}.eval_test_size", config[experiment].get("eval_test_size")
    yield "interpolation.alpha_eval_test_size", config["interpolation"]["alpha_eval_test_size"]
    yield "sensitivity.n_points", config["sensitivity"]["n_points"]

