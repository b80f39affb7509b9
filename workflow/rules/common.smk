# Config validation, wildcard constraints and the named input functions the rules use.
import os
import sys
from pathlib import Path

# A plain checkout works without `pip install -e .`: the Snakefile imports from src/, and the
# scripts find the package through the workflow/scripts/genlab link (Snakemake adds that folder).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from genlab import plan
from genlab.config import check_config, load_schema
from genlab.errors import GenlabError
from genlab.idx import raw_files

try:
    config.update(check_config(config, load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")))
    plan.check_against_data(config)
    ALPHAS = plan.alphas(config)
except GenlabError as error:
    sys.exit(f"genlab: error: {error}")

MNIST_FILES = [str(p) for p in raw_files(config["data_root"])]
MNIST_MISSING = not all(os.path.isfile(p) for p in MNIST_FILES)
RUN_DIR = "results/runs/{experiment}/{run}/seed{seed}"
FIGURES = {
    "random_labels": ["image/Random_label_loss.png", "image/Random_label_accuracy.png"],
    "params_vs_gen": ["image/Nbr_para_gen_loss.png", "image/Nbr_para_gen_accuracy.png"],
    "interpolation": ["image/Flatness_vs_gen_p1_inter.png"],
    "sensitivity": ["image/Flatness_vs_gen_p2_sens_acc.png", "image/Flatness_vs_gen_p2_sens_loss.png"],
}


wildcard_constraints:
    experiment="|".join(plan.EXPERIMENTS),
    run="[A-Za-z0-9]+",
    seed=r"\d+",


def experiment_outputs(experiment):
    return FIGURES[experiment] + [f"results/metrics/{experiment}.csv"]


def final_outputs():
    return [path for experiment in plan.EXPERIMENTS for path in experiment_outputs(experiment)]


def subset_params(wildcards):
    return plan.subset_params(config, wildcards.experiment)


def train_config(wildcards):
    return plan.train_config(config, wildcards.experiment, wildcards.run, wildcards.seed).to_dict()


def run_files(experiment, name):
    return [
        f"results/runs/{experiment}/{run}/seed{seed}/{name}"
        for run, seed in plan.all_runs(config, experiment)
    ]


def experiment_checkpoints(wildcards):
    return run_files(wildcards.experiment, "checkpoint.pt")


def random_label_histories(wildcards):
    return run_files("random_labels", "history.csv")


def interpolation_tables(wildcards):
    return [f"results/interpolation/seed{seed}.csv" for seed in config["seeds"]]


def sensitivity_tables(wildcards):
    return [f"results/sensitivity/{run}/seed{seed}.csv" for run, seed in plan.all_runs(config, "sensitivity")]
