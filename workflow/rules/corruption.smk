# Experiment 5, label and input corruption and memorization (Zhang et al. 2017, Fig. 1):
# genlab.experiments.corruption.
from genlab.experiments import corruption as exp5


# One row per run and seed: corruption, label noise, epochs and steps to fit, final metrics.
rule corruption_summary:
    input:
        histories=exp5.histories(config),
    output:
        report(
            "results/corruption/summary.csv",
            caption="../report/corruption_table.rst",
            category="Tables",
        ),
    log:
        "logs/corruption_summary.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp5.run_specs(config),
        fit_threshold=config["corruption"]["fit_threshold"],
        provenance=PROVENANCE["corruption"]["digest"],
    script:
        "../scripts/corruption_summary.py"


# Learning curves, time to fit, test error and memorization of clean vs corrupted examples.
rule plot_corruption:
    input:
        histories=exp5.histories(config),
        summary=rules.corruption_summary.output[0],
        provenance="results/provenance/corruption.json",
    output:
        learning_curves=report(
            exp5.FIGURES["learning_curves"],
            caption="../report/corruption.rst",
            category="5 Corruption",
        ),
        time_to_fit=report(
            exp5.FIGURES["time_to_fit"],
            caption="../report/corruption.rst",
            category="5 Corruption",
        ),
        test_error=report(
            exp5.FIGURES["test_error"],
            caption="../report/corruption.rst",
            category="5 Corruption",
        ),
        memorization=report(
            exp5.FIGURES["memorization"],
            caption="../report/corruption.rst",
            category="5 Corruption",
        ),
    log:
        "logs/plot/corruption.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp5.run_specs(config),
        provenance=PROVENANCE["corruption"]["digest"],
        settings=figure_settings("corruption"),
    script:
        "../scripts/plot_corruption.py"


# Named target: experiment 5's figures, tables and provenance.
rule corruption:
    input:
        experiment_outputs("corruption"),
    localrule: True
