"""What the experiment modules share: a run's TrainConfig from its config section, common checks, paths."""

from __future__ import annotations

from ..config import TrainConfig
from ..errors import GenlabError


def section_config(config: dict, experiment: str, run: str, seed: int | str, **fields) -> TrainConfig:
    """A run's TrainConfig: the section's common keys, overridden by the run's own `fields`."""
    section = config[experiment]
    common = dict(
        experiment=experiment,
        run=run,
        seed=int(seed),
        width=None,
        epochs=int(section["epochs"]),
        n_train=int(section["n_train"]),
        data_seed=int(config["data_seed"]),
        permuted_labels=False,
        eval_train_size=section.get("eval_train_size"),
        eval_test_size=section.get("eval_test_size"),
        eval_epochs=section.get("eval_epochs", "all"),
        precision=config["precision"],
    )
    if "lr" in section:
        common["lr"] = float(section["lr"])
    if "batch_size" in section:
        common["batch_size"] = int(section["batch_size"])
    common.update(fields)
    return TrainConfig(**common)


def check_batch_size(config: dict, key: str, batch_size: int, n_train_key: str) -> None:
    """A batch larger than the training subset is one batch of the whole subset: almost surely a typo."""
    experiment = n_train_key.split(".")[0]
    n_train = config[experiment]["n_train"]
    if batch_size > n_train:
        raise GenlabError(f"config key {key}: batch size {batch_size} exceeds {n_train_key} ({n_train})")


# An unknown run's error lists the experiment's runs up to this many (the zoo has hundreds).
LISTED_RUNS = 20


def unknown_run(experiment: str, names: list[str], run: str) -> GenlabError:
    """The one-line error for a run the config does not have: the runs, or how many there are."""
    listing = f"runs: {', '.join(names)}" if len(names) <= LISTED_RUNS else f"{len(names)} runs, e.g. {', '.join(names[:3])}"
    return GenlabError(f"{experiment}: no run named {run!r} in the config ({listing})")


def named_spec(experiment: str, specs: dict[str, dict], run: str) -> dict:
    """A copy of the spec of run `run` among an experiment's {run name: spec}."""
    if run not in specs:
        raise unknown_run(experiment, list(specs), run)
    return dict(specs[run])


RUN_DIR = "results/runs/{experiment}/{run}/seed{seed}"  # a run's checkpoint.pt and history.csv


def seeds(config: dict, experiment: str) -> list[int]:
    """An experiment's training seeds: its section's `seeds`, else the top-level ones."""
    return list(config[experiment].get("seeds") or config["seeds"])


def runs(config: dict, experiment: str) -> list[tuple[str, int]]:
    """(run, seed) of every training job of an experiment, runs in the module's order, then seeds."""
    from . import get

    return [(run, seed) for run in get(experiment).run_names(config[experiment]) for seed in seeds(config, experiment)]


def run_files(config: dict, experiment: str, name: str) -> list[str]:
    """A file of every run and seed: name is "checkpoint.pt" or "history.csv"."""
    return [f"{RUN_DIR}/{name}".format(experiment=experiment, run=run, seed=seed) for run, seed in runs(config, experiment)]


def history_paths(config: dict, experiment: str) -> list[str]:
    return run_files(config, experiment, "history.csv")


def metrics_table(experiment: str) -> str:
    return f"results/metrics/{experiment}.csv"


def standard_outputs(experiment: str, figures: dict[str, str]) -> list[str]:
    """What every experiment's named target holds: its figures, metrics table and provenance record."""
    return [*figures.values(), metrics_table(experiment), f"results/provenance/{experiment}.json"]


def summary_job(experiment: str, cost) -> list[dict]:
    """The job of an experiment's summary table (rule <experiment>_summary), priced as a light job."""
    return [cost.light_job(experiment, f"{experiment}_summary", f"{experiment}_summary", stage=3)]
