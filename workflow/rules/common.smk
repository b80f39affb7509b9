# Config validation, provenance, wildcard constraints and the named input functions the rules use.
import sys
from pathlib import Path

# The workflow's own package, here and (through PYTHONPATH) in every job, whatever genlab is installed.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)

from genlab import experiments, plan, plots, warm
from genlab.config import RUNTIME_KEYS
from genlab.errors import GenlabError
from genlab.estimate import start_line as estimate_line
from genlab.fingerprint import data_fingerprint
from genlab.parsetime import (
    anchored_paths,
    check_device,
    fingerprint_warning,
    put_first_on_pythonpath,
)
from genlab.provenance import (
    config_digest,
    effective as effective_config,
    report_mismatches,
)
from genlab.scheduling import UNBLOCKING_PRIORITY, priorities
from genlab.validate import validate

put_first_on_pythonpath(SRC)
try:
    config.update(anchored_paths(config, workflow.basedir))
    config.update(validate(config))
    check_device(config["device"])
    CHOSEN = experiments.chosen(config)
    FINGERPRINT = data_fingerprint(config["data_root"])
    PROVENANCE = {name: plan.provenance(config, name, FINGERPRINT) for name in CHOSEN}
    SUBSETS = plan.subsets(config)
    PRIORITIES = priorities(config)
except GenlabError as error:
    sys.exit(f"genlab: error: {error}")

fingerprint_warning(FINGERPRINT, config["data_root"])
if "--report" in sys.argv:
    report_mismatches(PROVENANCE)

RUN_DIR = "results/runs/{experiment}/{run}/seed{seed}"


EFFECTIVE_CONFIG = effective_config(config)
CONFIG_DIGEST = config_digest(config)


# The coarse cost of the planned jobs, printed once when a run (not a dry run) starts; and the
# warm process local jobs fork from (genlab.warm).
onstart:
    print(estimate_line(config, workflow.cores), file=sys.stderr)
    warm.start_for(workflow, config["warm_jobs"])


wildcard_constraints:
    experiment="|".join(CHOSEN),
    subset="[A-Za-z0-9_]+",
    run="[A-Za-z0-9]+",
    seed=r"\d+",


def experiment_rules():
    """The rules file of every chosen experiment (experiments not chosen have no rules at all)."""
    return [experiments.rules_file(name, workflow.basedir) for name in CHOSEN]


def experiment_outputs(experiment):
    return experiments.outputs(experiment, config)


def final_outputs():
    return [path for experiment in CHOSEN for path in experiment_outputs(experiment)]


def figures(experiment):
    return list(experiments.get(experiment).FIGURES.values())


def figure_settings(experiment):
    """The line under the experiment's figure titles: preset, images, epochs, seeds. A plot rule's
    parameter, so a changed preset name redraws the figures and retrains nothing."""
    return plots.settings_line(config, experiment)


def measured_settings(measured):
    """The line under a measure figure's title: the preset and the measured experiments."""
    return plots.measured_settings_line(config, measured)


def job_priority(rule, job):
    """A rule's priority: the cost model's for the job named `job` filled with the wildcards."""

    def priority(wildcards):
        return PRIORITIES.get((rule, job.format(**wildcards)), 0)

    return priority


def subset_params(wildcards):
    return SUBSETS[wildcards.subset]


def subset_file(wildcards):
    return f"results/subsets/{plan.subset_name(wildcards.experiment, wildcards.run)}.pt"


def train_config(wildcards):
    return plan.train_config(
        config, wildcards.experiment, wildcards.run, wildcards.seed
    ).to_dict()


def run_files(experiment, name):
    return plan.run_files(config, experiment, name)


def planned_runs(experiment, runs=None):
    """An input function: the planned training config of the wildcards' run, or of each of `runs`
    ({run: config}), at the wildcards' seed; a job checks its checkpoints against them.
    """

    def configs(wildcards):
        if runs is None:
            return plan.train_config(
                config, experiment, wildcards.run, wildcards.seed
            ).to_dict()
        return {
            run: plan.train_config(config, experiment, run, wildcards.seed).to_dict()
            for run in runs
        }

    return configs


def experiment_checkpoints(wildcards):
    return run_files(wildcards.experiment, "checkpoint.pt")


def planned_configs(wildcards):
    return [cfg.to_dict() for cfg in plan.planned_configs(config, wildcards.experiment)]


def provenance_record(wildcards):
    return PROVENANCE[wildcards.experiment]


def provenance_digest(wildcards):
    return PROVENANCE[wildcards.experiment]["digest"]


# Kept for the measure rules' names: every rule that measures a checkpoint is prioritised alike.
train_priority = job_priority("train", "{experiment}/{run}/seed{seed}")
measure_priority = job_priority("measure", "measure/{experiment}/{run}/seed{seed}")
landscape_priority = job_priority(
    "landscape", "landscape/{experiment}/{run}/seed{seed}"
)


def measures_metrics_tables(wildcards):
    """The metrics tables of the measured experiments (genlab.measures.plan)."""
    from genlab.measures import plan as measure_plan

    return measure_plan.metrics_tables(config)


def measures_provenance(wildcards):
    """The provenance digests of the measured experiments: a figure of their measures depends on them."""
    from genlab.measures import plan as measure_plan

    return [
        PROVENANCE[name]["digest"] for name in measure_plan.measured_experiments(config)
    ]
