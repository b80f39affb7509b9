"""Measure kind "landscape": loss and accuracy along filter-normalised random directions (Li et al. 2018).

Not a per-checkpoint measure: one `landscape` job per checkpoint listed in
measures.landscape.runs (every seed), writing a 1-D curve theta + t d and a 2-D grid
theta + t1 d1 + t2 d2, t in [-1, 1], on the train and test evaluation sets. d1 is drawn
from landscape.seed, d2 from landscape.seed + 1. Numerics in genlab.measures.surface.
"""

from __future__ import annotations

from pathlib import Path

from .. import experiments, plan
from ..errors import GenlabError

NAME = "landscape"
KEYS = ("landscape",)
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = False
COLUMNS_1D = ["direction_seed", "t", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
COLUMNS_2D = ["direction_seed_1", "direction_seed_2", "t1", "t2", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
KEY = "config key measures.landscape"


def grid(points: int) -> list[float]:
    """points values from -1 to 1: (2 i - (n - 1)) / (n - 1), so -1, 0 (n odd) and 1 are exact."""
    return [(2 * i - (points - 1)) / (points - 1) for i in range(points)]


def split_run(entry: str) -> tuple[str, str]:
    """"experiment/run" -> (experiment, run); the schema has checked the form."""
    experiment, _, run = str(entry).partition("/")
    return experiment, run


def runs(config: dict) -> list[tuple[str, str]]:
    """(experiment, run) of every drawn landscape: listed, and of an experiment the config runs."""
    chosen = experiments.chosen(config)
    listed = [split_run(entry) for entry in config["measures"]["landscape"]["runs"]]
    return [(e, run) for e, run in listed if e in chosen]


def checkpoints(config: dict) -> list[tuple[str, str, int]]:
    """(experiment, run, seed) of this kind's jobs: every seed of every drawn run."""
    return [(e, run, seed) for e, run in runs(config) for seed in experiments.seeds(config, e)]


def check(section: dict, config: dict) -> None:
    """Every listed run exists; the train evaluation set fits the training subsets of the drawn runs."""
    options = section["landscape"]
    chosen = experiments.chosen(config)
    for entry in options["runs"]:
        experiment, run = split_run(entry)
        if experiment not in experiments.names():
            raise GenlabError(f"{KEY}.runs: {entry!r} names unknown experiment {experiment!r} (one of {', '.join(experiments.names())})")
        names = plan.run_names(config, experiment)
        if run not in names:
            raise GenlabError(f"{KEY}.runs: {entry!r}: {experiment} has no run {run!r} (runs: {', '.join(names)})")
        size, n_train = options["eval_train_size"], config[experiment]["n_train"]
        if experiment in chosen and size is not None and size > n_train:
            raise GenlabError(f"{KEY}.eval_train_size: {size} exceeds {experiment}.n_train ({n_train})")


def check_against_data(section: dict, config: dict, n_test: int | None) -> None:
    """The test evaluation set must fit the test split (n_test: its size, None until MNIST exists)."""
    size = section["landscape"]["eval_test_size"]
    if section["landscape"]["runs"] and size is not None and n_test is not None and size > n_test:
        where = Path(config["data_root"]) / "MNIST/raw"
        raise GenlabError(f"{KEY}.eval_test_size: {size} exceeds the {n_test} test images in {where}")


def run(model, data, context) -> dict[str, list[dict]]:
    """{"1d": rows of COLUMNS_1D, "2d": rows of COLUMNS_2D}; data: the train and test evaluation Tensors."""
    from .surface import filter_normalized_direction, landscape_1d, landscape_2d

    options = context.options["landscape"]
    seeds = (options["seed"], options["seed"] + 1)
    d1, d2 = (filter_normalized_direction(model, s) for s in seeds)
    sets = (data.x_train, data.y_train, data.x_test, data.y_test)
    curve = landscape_1d(model, *sets, d1, grid(options["points_1d"]), context.chunk_size)
    ts = grid(options["points_2d"])
    surface = landscape_2d(model, *sets, d1, d2, ts, ts, context.chunk_size)
    return {
        "1d": [{"direction_seed": seeds[0], **point} for point in curve],
        "2d": [{"direction_seed_1": seeds[0], "direction_seed_2": seeds[1], **point} for point in surface],
    }


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """Every point of the curve and the grid: one evaluation of the train and test sets each."""
    options = section["landscape"]
    points = options["points_1d"] + options["points_2d"] ** 2
    images = (options["eval_train_size"] or n_train) + (n_test if options["eval_test_size"] is None else options["eval_test_size"])
    return points * images * eval_s


def is_sharpness(measure_name: str) -> bool:
    return False


def names(section: dict) -> list[str]:
    return []  # its curves go to results/landscape/, not to the measure table
