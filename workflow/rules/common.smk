# Config validation, provenance, wildcard constraints and the named input functions the rules use.
import sys
from pathlib import Path

# The workflow's own package, here and (through PYTHONPATH) in every job, whatever genlab is installed.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)

from genlab import experiments, plan, warm
from genlab.config import RUNTIME_KEYS, check_config, load_schema
from genlab.errors import GenlabError
from genlab.estimate import start_line as estimate_line
from genlab.estimate import UNBLOCKING_PRIORITY, priorities
from genlab.fingerprint import data_fingerprint
from genlab.parsetime import check_device, fingerprint_warning, put_first_on_pythonpath
from genlab.provenance import report_mismatches

put_first_on_pythonpath(SRC)
try:
    config.update(
        check_config(
            config,
            load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"),
        )
    )
    plan.check(config)
    plan.check_against_data(config)
    check_device(config["device"])
    FINGERPRINT = data_fingerprint(config["data_root"])
    PROVENANCE = {
        name: plan.provenance(config, name, FINGERPRINT) for name in plan.EXPERIMENTS
    }
    SUBSETS = plan.subsets(config)
    PRIORITIES = priorities(config)
except GenlabError as error:
    sys.exit(f"genlab: error: {error}")

fingerprint_warning(FINGERPRINT, config["data_root"])
if "--report" in sys.argv:
    report_mismatches(PROVENANCE)

RUN_DIR = "results/runs/{experiment}/{run}/seed{seed}"


EFFECTIVE_CONFIG = {
    key: value for key, value in config.items() if key not in RUNTIME_KEYS
}


# The coarse cost of the planned jobs, printed once when a run (not a dry run) starts; and the
# warm process local jobs fork from (genlab.warm).
onstart:
    print(estimate_line(config, workflow.cores), file=sys.stderr)
    warm.start_for(workflow, config["warm_jobs"])


wildcard_constraints:
    experiment="|".join(plan.EXPERIMENTS),
    subset="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",
    seed=r"\d+",


def figures(experiment):
    return list(experiments.get(experiment).FIGURES.values())


def experiment_outputs(experiment):
    return figures(experiment) + [
        f"results/metrics/{experiment}.csv",
        f"results/provenance/{experiment}.json",
    ]


def final_outputs():
    return [
        path
        for experiment in plan.EXPERIMENTS
        for path in experiment_outputs(experiment)
    ]


def subset_params(wildcards):
    return SUBSETS[wildcards.subset]


def subset_file(wildcards):
    return f"results/subsets/{plan.subset_name(wildcards.experiment, wildcards.run)}.pt"


def train_config(wildcards):
    return plan.train_config(
        config, wildcards.experiment, wildcards.run, wildcards.seed
    ).to_dict()


def train_priority(wildcards):
    job = f"{wildcards.experiment}/{wildcards.run}/seed{wildcards.seed}"
    return PRIORITIES.get(("train", job), 0)


def interpolate_priority(wildcards):
    return PRIORITIES.get(("interpolate", f"interpolation/seed{wildcards.seed}"), 0)


def sensitivity_priority(wildcards):
    job = f"sensitivity/{wildcards.run}/seed{wildcards.seed}"
    return PRIORITIES.get(("sensitivity_measure", job), 0)


def measure_priority(wildcards):
    job = f"measure/{wildcards.experiment}/{wildcards.run}/seed{wildcards.seed}"
    return PRIORITIES.get(("measure", job), 0)


def landscape_priority(wildcards):
    job = f"landscape/{wildcards.experiment}/{wildcards.run}/seed{wildcards.seed}"
    return PRIORITIES.get(("landscape", job), 0)


def run_files(experiment, name):
    return plan.run_paths(
        config, experiment, "results/runs/%s/{run}/seed{seed}/%s" % (experiment, name)
    )


def experiment_checkpoints(wildcards):
    return run_files(wildcards.experiment, "checkpoint.pt")


def interpolation_endpoints(wildcards):
    """The planned configs of one seed's solutions A and B, checked against their checkpoints."""
    return {
        run: plan.train_config(config, "interpolation", run, wildcards.seed).to_dict()
        for run in ("A", "B")
    }


def sensitivity_planned(wildcards):
    return plan.train_config(
        config, "sensitivity", wildcards.run, wildcards.seed
    ).to_dict()


def planned_configs(wildcards):
    return [cfg.to_dict() for cfg in plan.planned_configs(config, wildcards.experiment)]


def provenance_record(wildcards):
    return PROVENANCE[wildcards.experiment]


def provenance_digest(wildcards):
    return PROVENANCE[wildcards.experiment]["digest"]
