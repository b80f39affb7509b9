# Experiment 6, double descent with label noise (Belkin et al. 2019; Nakkiran et al. 2019):
# genlab.experiments.double_descent.
from genlab.experiments import double_descent as exp6


# One row per run and seed: model, width, parameters, label noise, final errors and losses, and
# each noise level's measured interpolation threshold.
rule double_descent_summary:
    input:
        metrics="results/metrics/double_descent.csv",
    output:
        report(
            exp6.SUMMARY_CSV,
            caption="../report/double_descent_table.rst",
            category="Tables",
        ),
    log:
        "logs/double_descent_summary.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp6.specs_by_run(config),
        provenance=PROVENANCE["double_descent"]["digest"],
    script:
        "../scripts/double_descent_summary.py"


# Test and train error against the parameter count; test error over width x epoch at the highest noise.
rule plot_double_descent:
    input:
        histories=exp6.histories(config),
        summary=rules.double_descent_summary.output[0],
        provenance="results/provenance/double_descent.json",
    output:
        model_wise=report(
            exp6.FIGURES["model_wise"],
            caption="../report/double_descent.rst",
            category="6 Double descent",
        ),
        epoch_wise=report(
            exp6.FIGURES["epoch_wise"],
            caption="../report/double_descent.rst",
            category="6 Double descent",
        ),
    log:
        "logs/plot/double_descent.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        run_specs=exp6.run_specs(config),
        provenance=PROVENANCE["double_descent"]["digest"],
        settings=figure_settings("double_descent"),
    script:
        "../scripts/plot_double_descent.py"


# Named target: experiment 6's figures, tables and provenance.
rule double_descent:
    input:
        experiment_outputs("double_descent"),
    localrule: True
