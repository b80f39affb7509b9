# Experiment 4, sensitivity across batch sizes: genlab.experiments.sensitivity.
from genlab.experiments import sensitivity as exp4


# Mean Jacobian norm of one experiment-4 checkpoint over the first n_points test images.
rule sensitivity_measure:
    input:
        checkpoint="results/runs/sensitivity/{run}/seed{seed}/checkpoint.pt",
    output:
        "results/sensitivity/{run}/seed{seed}.csv",
    log:
        "logs/sensitivity_measure/{run}/seed{seed}.log",
    priority: job_priority("sensitivity_measure", "sensitivity/{run}/seed{seed}")
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        planned=planned_runs("sensitivity"),
        n_points=config["sensitivity"]["n_points"],
        output=config["sensitivity"]["output"],
        data=FINGERPRINT,
    script:
        "../scripts/sensitivity.py"


# All experiment-4 runs in one table: batch size, sensitivity and the four final metrics.
rule sensitivity_summary:
    input:
        exp4.run_tables(config),
    output:
        report(
            "results/sensitivity/summary.csv",
            caption="../report/sensitivity_table.rst",
            category="Tables",
        ),
    log:
        "logs/sensitivity_summary.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        sort_by=["batch_size", "seed"],
        provenance=PROVENANCE["sensitivity"]["digest"],
    script:
        "../scripts/concat.py"


# Sensitivity with accuracy, and with loss, against batch size.
rule plot_sensitivity:
    input:
        summary=rules.sensitivity_summary.output[0],
        provenance="results/provenance/sensitivity.json",
    output:
        accuracy=report(
            figures("sensitivity")[0],
            caption="../report/sensitivity.rst",
            category="4 Sensitivity",
        ),
        loss=report(
            figures("sensitivity")[1],
            caption="../report/sensitivity.rst",
            category="4 Sensitivity",
        ),
    log:
        "logs/plot/sensitivity.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["sensitivity"]["digest"],
        settings=figure_settings("sensitivity"),
    script:
        "../scripts/plot_sensitivity.py"


# Named target: experiment 4's figures, tables and provenance.
rule sensitivity:
    input:
        experiment_outputs("sensitivity"),
    localrule: True


# The sharpness measures of experiment 4's networks against batch size, the gap on a twin axis,
# marked runs of other measured experiments (the interpolation solutions) at their batch sizes.
rule plot_sharpness_vs_batch_size:
    input:
        table="results/measures/all.csv",
        metrics=measures_metrics_tables,
    output:
        report(
            exp4.SHARPNESS_FIGURE,
            caption="../report/measures_sharpness.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_sharpness_vs_batch_size/Sharpness_vs_batch_size.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        names=exp4.sharpness_measures(config),
        marked=exp4.marked_runs(config),
        settings=measured_settings(exp4.sharpness_experiments(config)),
        provenance=measures_provenance,
    script:
        "../scripts/plot_sharpness.py"
