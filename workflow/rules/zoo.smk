# Experiment 7, the model zoo (Jiang et al. 2019): genlab.experiments.zoo.
from genlab.experiments import zoo as exp7


# One row per run and seed: every hyperparameter, final metrics, generalization gap, whether the
# target train loss was reached, epochs trained and steps to train loss 0.1.
rule zoo_runs:
    input:
        histories=exp7.histories(config),
    output:
        report(
            exp7.RUNS_CSV,
            caption="../report/zoo_runs.rst",
            category="Tables",
        ),
    log:
        "logs/zoo_runs.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp7.run_specs(config),
        section=config["zoo"],
        provenance=PROVENANCE["zoo"]["digest"],
    script:
        "../scripts/zoo_runs.py"


# Jiang et al.'s protocol over the zoo's measured checkpoints: tau, Psi with each psi_i, the CMI test.
rule zoo_ranking:
    input:
        runs=exp7.RUNS_CSV,
        measures=exp7.measure_tables(config),
    output:
        report(
            exp7.RANKING_CSV,
            caption="../report/zoo_ranking.rst",
            category="Tables",
        ),
    log:
        "logs/zoo_ranking.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["zoo"]["digest"],
    script:
        "../scripts/zoo_ranking.py"


# The ranking (Psi and tau per measure) and each family's best measure against the gap.
rule plot_zoo:
    input:
        ranking=exp7.RANKING_CSV,
        runs=exp7.RUNS_CSV,
        measures=exp7.measure_tables(config),
    output:
        ranking=report(
            exp7.FIGURES["ranking"],
            caption="../report/zoo_ranking.rst",
            category="7 Model zoo",
        ),
        vs_gap=report(
            exp7.FIGURES["vs_gap"],
            caption="../report/zoo_ranking.rst",
            category="7 Model zoo",
        ),
    log:
        "logs/plot/zoo.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        settings=measured_settings(["zoo"]),
    script:
        "../scripts/plot_zoo.py"


# Named target: the zoo's runs table, metrics table, provenance and, when measured, its ranking and figures.
rule zoo:
    input:
        experiment_outputs("zoo"),
    localrule: True
