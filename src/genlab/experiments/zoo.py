"""The model zoo (Jiang et al. 2019, "Fantastic generalization measures and where to find them"):
one network per combination of hyperparameters, each trained to the same small train loss, whose
generalization gaps the measures are then ranked against (the ranking comes with the measures).

config key  zoo (n_train, width, depth, batch_size, lr, weight_decay, dropout, optimizer,
            target_train_loss, max_epochs, eval_test_size, seeds); zoo_confirm (top level) for a grid
            of over MAX_RUNS training runs. Types by the JSON schema, cross-key rules by `check`.
runs        one zoo_cnn per combination of the lists (their product, in the order of GRID_KEYS) and
            seed, named by its hyperparameters (`run_name`: "w8d2b64lr1em3wd0do0adam"). A run stops
            after the first epoch whose cross-entropy on the whole training subset (eval mode: no
            dropout) is <= target_train_loss; one that does not within max_epochs is recorded with
            reached_target False (the ranking leaves it out and counts it), not an error. The test split
            is measured once, where a run stops (genlab.config.TrainConfig.test_each_epoch).
data        one subset of n_train images shared by every run (data_seed)
rules       workflow/rules/zoo.smk (zoo_runs), shared subset/train/metrics
tables      results/runs/zoo/{run}/seed{k}/history.csv (genlab.columns.TARGET_HISTORY_COLUMNS, every
            epoch), results/zoo/runs.csv (RUNS_COLUMNS, `write_runs`), results/metrics/zoo.csv
ranking     results/zoo/ranking.csv and image/Zoo_*.png when measures.experiments lists zoo (zoo_ranking)
claims      finding_flatness_beats_norms, finding_spectral_product_negative (zoo_ranking)
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..atomic import write_csv
from ..columns import FINAL_METRICS, REACHED_TARGET, STEPS_TO_LOSS, TARGET_HISTORY_COLUMNS
from ..config import TrainConfig
from ..errors import GenlabError
from ._shared import check_batch_size, history_paths, named_spec, runs, standard_outputs

log = logging.getLogger("genlab")

NAME = "zoo"
ARCH = "zoo_cnn"
# Drawn when the zoo's checkpoints are measured (measures.experiments lists zoo): genlab.experiments.zoo_ranking.
FIGURES = {"ranking": "image/Zoo_ranking.png", "vs_gap": "image/Zoo_measure_vs_gap.png"}
RUNS_CSV = "results/zoo/runs.csv"
RANKING_CSV = "results/zoo/ranking.csv"
# The hyperparameters of the grid, in the order of the product and of a run's name.
GRID_KEYS = ("width", "depth", "batch_size", "lr", "weight_decay", "dropout", "optimizer")
# More training runs than this (combinations x seeds) is most likely a slip: zoo_confirm=true says it is not.
MAX_RUNS = 10_000
RUNS_COLUMNS = [
    "run", "seed", *GRID_KEYS, "n_train", "target_train_loss", "max_epochs", "n_params", *FINAL_METRICS,
    "gap", "loss_gap", REACHED_TARGET, "epochs_trained", STEPS_TO_LOSS, "n_train_eval", "n_test_eval",
]

# ---------------------------------------------------------------- runs


def scientific(x: float) -> str:
    """A number as a wildcard-safe token, exactly: 1e-3 -> "1em3", 0.0015 -> "1p5em3", 0.01 -> "1em2", 0 -> "0"."""
    if x == 0:
        return "0"
    text = f"{Decimal(repr(float(x))).normalize():e}"  # shortest exact digits: "1.5e-3"
    return text.replace(".", "p").replace("e-", "em").replace("e+", "e")


def plain(x: float) -> str:
    """A fraction as a token: 0.25 -> "0p25", 0 -> "0"."""
    return f"{Decimal(repr(float(x))).normalize():f}".replace(".", "p")


def run_name(spec: dict) -> str:
    """w{width}d{depth}b{batch}lr{lr}wd{weight decay}do{dropout}{optimizer}, e.g. "w8d2b64lr1em3wd0do0adam"."""
    return (f"w{spec['width']}d{spec['depth']}b{spec['batch_size']}lr{scientific(spec['lr'])}"
            f"wd{scientific(spec['weight_decay'])}do{plain(spec['dropout'])}{spec['optimizer']}")


def _specs(section: dict) -> dict[str, dict]:
    specs = {}
    for values in itertools.product(*(section[key] for key in GRID_KEYS)):
        spec = dict(zip(GRID_KEYS, values))
        specs[run_name(spec)] = spec
    return specs


def run_names(section: dict) -> list[str]:
    """Every combination of the section's lists, the last key (optimizer) varying fastest."""
    return list(_specs(section))


def run_spec(section: dict, run: str) -> dict:
    """The hyperparameters of a run: {width, depth, batch_size, lr, weight_decay, dropout, optimizer}."""
    return named_spec(NAME, _specs(section), run)


def run_specs(config: dict) -> list[dict]:
    """{run, seed and run_spec} of every training run, in plan order (the order of the history files)."""
    specs = _specs(config[NAME])
    return [{"run": run, "seed": seed, **specs[run]} for run, seed in runs(config, NAME)]


def histories(config: dict) -> list[str]:
    return history_paths(config, NAME)


def grid_size(section: dict) -> int:
    size = 1
    for key in GRID_KEYS:
        size *= len(section[key])
    return size


def check(config: dict) -> None:
    """The cross-key rules (types, ranges, empty lists and unknown optimizers are the schema's)."""
    section = config[NAME]
    n_seeds = len(section.get("seeds") or config["seeds"])
    total = grid_size(section) * n_seeds
    if total > MAX_RUNS and not config.get("zoo_confirm"):
        raise GenlabError(
            f"config key {NAME}: the grid has {total} training runs ({grid_size(section)} combinations x {n_seeds} seeds), "
            f"over {MAX_RUNS}: pass --config zoo_confirm=True if you mean it"
        )
    for batch in section["batch_size"]:
        check_batch_size(config, f"{NAME}.batch_size", batch, f"{NAME}.n_train")


def train_config(config: dict, run: str, seed: int | str) -> TrainConfig:
    """Jiang et al.'s stopping criterion needs the train loss on the whole subset every epoch:
    eval_train_size None (all n_train images), eval_epochs all."""
    section = config[NAME]
    spec = run_spec(section, run)
    return TrainConfig(
        experiment=NAME, run=run, seed=int(seed), arch=ARCH, width=int(spec["width"]), lr=float(spec["lr"]),
        batch_size=int(spec["batch_size"]), epochs=int(section["max_epochs"]), n_train=int(section["n_train"]),
        data_seed=int(config["data_seed"]), permuted_labels=False, eval_train_size=None,
        eval_test_size=section.get("eval_test_size"), eval_epochs="all", precision=config["precision"],
        depth=int(spec["depth"]), dropout=float(spec["dropout"]), optimizer=str(spec["optimizer"]),
        weight_decay=float(spec["weight_decay"]), target_train_loss=float(section["target_train_loss"]),
    )


def n_params(width: int, depth: int) -> int:
    """zoo_cnn's parameter count (genlab.models.zoo_cnn), without building it: the runs table is torch-free."""
    return 10 * width + (depth - 1) * (9 * width * width + width) + 28 * 28 * width * 10 + 10


def measured(config: dict) -> bool:
    """Whether the zoo's checkpoints are measured: then its measures are ranked and drawn."""
    from ..measures.plan import measured_experiments

    return NAME in measured_experiments(config)


def measure_tables(config: dict) -> list[str]:
    """The zoo's per-checkpoint measure tables: its ranking reads these, not the table of every experiment's
    measures, so another experiment's change does not redo it."""
    from ..measures.plan import measure_tables as all_tables

    return [path for path in all_tables(config) if path.startswith(f"results/measures/{NAME}/")]


def outputs(config: dict) -> list[str]:
    ranked = [RANKING_CSV, *FIGURES.values()] if measured(config) else []
    return [*standard_outputs(NAME, {}), RUNS_CSV, *ranked]


def jobs(config: dict, cost) -> list[dict]:
    """The runs table and, with measures, the ranking (its figures are the plot job every experiment has)."""
    ranking = [cost.light_job(NAME, "zoo_ranking", "zoo_ranking", stage=4)] if measured(config) else []
    return [cost.light_job(NAME, "zoo_runs", "zoo_runs", stage=3), *ranking]


# ---------------------------------------------------------------- the runs table


def runs_table(histories: Sequence[str], specs: Sequence[dict], target_train_loss: float, max_epochs: int,
               n_train: int) -> pd.DataFrame:
    """One row per run and seed (RUNS_COLUMNS): its hyperparameters (specs[i], run_specs' dict, for
    histories[i]), the last epoch's metrics, gap = train accuracy - test accuracy (Jiang et al.'s
    generalization gap), loss_gap = test loss - train loss, reached_target (the last epoch's train
    loss <= target_train_loss), epochs_trained, and steps_to_loss_0.1 (first measured step with train
    loss <= 0.1, empty if none)."""
    from ..plots import read_table

    if len(histories) != len(specs):
        raise GenlabError(f"{NAME}: {len(histories)} histories but {len(specs)} run specs")
    rows = []
    for path, spec in zip(histories, specs):
        hist = read_table(path, [c for c in TARGET_HISTORY_COLUMNS if c != REACHED_TARGET])
        if hist.empty:
            raise GenlabError(f"{path}: no rows")
        if int(hist["seed"].iloc[-1]) != int(spec["seed"]):
            raise GenlabError(f"{path}: seed {int(hist['seed'].iloc[-1])}, planned {spec['seed']}")
        last = hist.iloc[-1]
        below = hist[hist["train_loss"] <= 0.1]
        final = {k: float(last[k]) for k in FINAL_METRICS}
        rows.append({
            **{k: spec[k] for k in ("run", "seed", *GRID_KEYS)},
            "n_train": n_train, "target_train_loss": target_train_loss, "max_epochs": max_epochs,
            "n_params": n_params(int(spec["width"]), int(spec["depth"])), **final,
            "gap": final["train_accuracy"] - final["test_accuracy"], "loss_gap": final["test_loss"] - final["train_loss"],
            REACHED_TARGET: bool(final["train_loss"] <= target_train_loss), "epochs_trained": int(last["epoch"]),
            STEPS_TO_LOSS: int(below["step"].iloc[0]) if len(below) else None,
            "n_train_eval": int(last["n_train_eval"]), "n_test_eval": int(last["n_test_eval"]),
        })
    frame = pd.DataFrame(rows, columns=RUNS_COLUMNS)
    frame[STEPS_TO_LOSS] = frame[STEPS_TO_LOSS].astype("Int64")  # an integer, or an empty cell when never reached
    return frame


def write_runs(histories: Sequence[str], specs: Sequence[dict], section: dict, out_csv: str | Path) -> None:
    frame = runs_table(histories, specs, float(section["target_train_loss"]), int(section["max_epochs"]), int(section["n_train"]))
    missed = int((~frame[REACHED_TARGET]).sum())
    if missed:  # recorded, not an error: the ranking leaves them out and says how many
        log.warning("%d of %d zoo runs did not reach train loss %g within %d epochs", missed, len(frame),
                    section["target_train_loss"], section["max_epochs"])
    write_csv(out_csv, frame.astype(object).where(frame.notna(), None), RUNS_COLUMNS)


# ---------------------------------------------------------------- claims


def claim_inputs(config: dict) -> dict[str, list[str]]:
    return {"ranking": [RANKING_CSV], "runs": [RUNS_CSV]} if measured(config) else {}


def claims(inputs: dict[str, list[str]]) -> list[dict]:
    """Jiang et al.'s findings on the ranking of the measures (genlab.experiments.zoo_ranking)."""
    from .zoo_ranking import claims_of

    return claims_of(inputs)
