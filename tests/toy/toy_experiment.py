"""A toy experiment, registered from the test folder alone (config key plugins): two tiny networks,
one figure, one claim. It proves that an experiment needs its module and its rules file, nothing else;
subset_name, check, outputs and jobs take the registry's defaults."""

from pathlib import Path

from genlab import evidence as ev
from genlab import stats
from genlab.experiments._shared import metrics_table, section_config

KIND = "experiment"
NAME = "toy"
RULES = "toy.smk"  # relative to this file
ARCH = "width_cnn"
FIGURES = {"toy": "image/Toy.png"}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "properties": {
        "n_train": {"type": "integer", "exclusiveMinimum": 0, "default": 40},
        "widths": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0}, "default": [2, 3]},
        "lr": {"type": "number", "exclusiveMinimum": 0, "default": 1.0e-3},
        "batch_size": {"type": "integer", "exclusiveMinimum": 0, "default": 20},
        "epochs": {"type": "integer", "exclusiveMinimum": 0, "default": 1},
        "eval_test_size": {"type": ["integer", "null"], "default": 30},
    },
}


def run_names(section):
    return [f"w{w}" for w in section["widths"]]


def train_config(config, run, seed):
    return section_config(config, NAME, run, seed, arch=ARCH, width=int(run[1:]), eval_epochs="final")


def claim_inputs(config):
    return {"metrics": [metrics_table(NAME)]}


def claims(inputs):
    table, source = ev.table(inputs, "metrics", ["run", "train_accuracy"])
    verdict = stats.HELD if len(table) == 2 else stats.NOT_HELD
    return [ev.claim(NAME, "toy_trained", verdict, f"{len(table)} toy networks in {source}", effect=len(table), n_seeds=1)]


def plot(metrics_csv, png):
    from genlab.plots import TRAIN, figure, line, read_tables

    rows = read_tables([metrics_csv])
    with figure(png, "Toy: train accuracy against parameters") as ax:
        line(ax, rows, "n_params", "train_accuracy", "train", TRAIN, marker="o")
        ax.set_xlabel("parameters")
        ax.set_ylabel("train accuracy")
    Path(png).stat()
