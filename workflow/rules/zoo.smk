# Experiment 6, the model zoo (Jiang et al. 2019): genlab.experiments.zoo.
from genlab.experiments import zoo as exp6


# One row per run and seed: every hyperparameter, final metrics, generalization gap, whether the
# target train loss was reached, epochs trained and steps to train loss 0.1.
rule zoo_runs:
    input:
        histories=exp6.histories(config),
    output:
        report(
            exp6.RUNS_CSV,
            caption="../report/zoo_runs.rst",
            category="Tables",
        ),
    log:
        "logs/zoo_runs.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp6.run_specs(config),
        section=config["zoo"],
        provenance=PROVENANCE["zoo"]["digest"],
    script:
        "../scripts/zoo_runs.py"


# Named target: the zoo's runs table, metrics table and provenance.
rule zoo:
    input:
        experiment_outputs("zoo"),
    localrule: True
