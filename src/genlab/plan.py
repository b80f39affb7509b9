"""From the workflow config to concrete runs: names, training configs, subsets.

The Snakemake rules only wire files together; which runs an experiment has and
what each one trains with is decided here, where it is tested.
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainConfig
from .errors import GenlabError
from .idx import split_size

EXPERIMENTS = ("random_labels", "params_vs_gen", "interpolation", "sensitivity")
ARCH = {
    "random_labels": "deep_cnn",
    "params_vs_gen": "width_cnn",
    "interpolation": "deep_cnn",
    "sensitivity": "shallow_cnn",
}
SOLUTIONS = {"A": "solution_a", "B": "solution_b"}  # interpolation endpoints


def _experiment(config: dict, experiment: str) -> dict:
    if experiment not in EXPERIMENTS:
        raise GenlabError(f"unknown experiment {experiment!r}, expected one of {', '.join(EXPERIMENTS)}")
    return config[experiment]


def run_names(config: dict, experiment: str) -> list[str]:
    section = _experiment(config, experiment)
    if experiment == "random_labels":
        return ["deep"]
    if experiment == "params_vs_gen":
        return [f"width{w}" for w in section["widths"]]
    if experiment == "interpolation":
        return list(SOLUTIONS)
    return [f"batch{b}" for b in section["batch_sizes"]]


def subset_params(config: dict, experiment: str) -> dict:
    """What determines an experiment's training subset (and so its subset file)."""
    section = _experiment(config, experiment)
    return {
        "n_train": section["n_train"],
        "seed": config["data_seed"],
        "random_labels": experiment == "random_labels",
    }


def _hyperparameters(config: dict, experiment: str, run: str) -> tuple[float, int, int | None]:
    """(lr, batch_size, width) of one run, or an error naming the run that the config lacks."""
    names = run_names(config, experiment)
    if run not in names:
        raise GenlabError(f"{experiment}: no run named {run!r} in the config (runs: {', '.join(names)})")
    section = config[experiment]
    if experiment == "params_vs_gen":
        return section["lr"], section["batch_size"], int(run.removeprefix("width"))
    if experiment == "interpolation":
        solution = section[SOLUTIONS[run]]
        return solution["lr"], solution["batch_size"], None
    if experiment == "sensitivity":
        return section["lr"], int(run.removeprefix("batch")), None
    return section["lr"], section["batch_size"], None


def train_config(config: dict, experiment: str, run: str, seed: int | str) -> TrainConfig:
    section = _experiment(config, experiment)
    lr, batch_size, width = _hyperparameters(config, experiment, run)
    subset = subset_params(config, experiment)
    return TrainConfig(
        experiment=experiment,
        run=run,
        seed=int(seed),
        arch=ARCH[experiment],
        width=width,
        lr=float(lr),
        batch_size=int(batch_size),
        epochs=int(section["epochs"]),
        n_train=subset["n_train"],
        data_seed=subset["seed"],
        random_labels=subset["random_labels"],
        eval_train_size=section.get("eval_train_size"),
        eval_test_size=section.get("eval_test_size"),
        eval_batch_size=config["eval_batch_size"],
        precision=config["precision"],
    )


def alphas(config: dict) -> list[float]:
    """The interpolation coefficients start, start+step, ..., stop (inclusive), rounded to kill float drift."""
    spec = config["interpolation"]["alpha"]
    start, stop, step = spec["start"], spec["stop"], spec["step"]
    if stop <= start:
        raise GenlabError(f"config key interpolation.alpha: stop ({stop}) must be greater than start ({start})")
    count = int(round((stop - start) / step))
    return [round(start + i * step, 10) for i in range(count + 1)]


def check_against_data(config: dict) -> None:
    """Subsets larger than their split fail at parse time, before any job starts (skipped until MNIST exists)."""
    sizes = {split: split_size(config["data_root"], split) for split in ("train", "test")}
    if sizes["train"] is not None:
        for experiment in EXPERIMENTS:
            n = config[experiment]["n_train"]
            if n > sizes["train"]:
                raise GenlabError(
                    f"config key {experiment}.n_train: {n} exceeds the {sizes['train']} training images in {Path(config['data_root']) / 'MNIST/raw'}"
                )
    if sizes["test"] is not None:
        for key, n in _test_sizes(config):
            if n is not None and n > sizes["test"]:
                raise GenlabError(
                    f"config key {key}: {n} exceeds the {sizes['test']} test images in {Path(config['data_root']) / 'MNIST/raw'}"
                )


def _test_sizes(config: dict):
    for experiment in EXPERIMENTS:
        yield f"{experiment}.eval_test_size", config[experiment].get("eval_test_size")
    yield "interpolation.alpha_eval_test_size", config["interpolation"]["alpha_eval_test_size"]
    yield "sensitivity.n_points", config["sensitivity"]["n_points"]


def all_runs(config: dict, experiment: str) -> list[tuple[str, int]]:
    return [(run, seed) for run in run_names(config, experiment) for seed in config["seeds"]]
