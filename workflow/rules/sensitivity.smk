# Experiment 4, sensitivity across batch sizes: genlab.experiments.sensitivity.


# Mean Jacobian norm of one experiment-4 checkpoint over the first n_points test images.
rule sensitivity_measure:
    input:
        checkpoint="results/runs/sensitivity/{run}/seed{seed}/checkpoint.pt",
    output:
        "results/sensitivity/{run}/seed{seed}.csv",
    log:
        "logs/sensitivity_measure/{run}/seed{seed}.log",
    priority: sensitivity_priority
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        planned=sensitivity_planned,
        n_points=config["sensitivity"]["n_points"],
        output=config["sensitivity"]["output"],
        data=FINGERPRINT,
    script:
        "../scripts/sensitivity.py"


# All experiment-4 runs in one table: batch size, sensitivity and the four final metrics.
rule sensitivity_summary:
    input:
        plan.run_paths(
            config, "sensitivity", "results/sensitivity/{run}/seed{seed}.csv"
        ),
    output:
        report(
            "results/sensitivity/summary.csv",
            caption="../report/sensitivity_table.rst",
            category="Tables",
        ),
    log:
        "logs/sensitivity_summary.log",
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
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["sensitivity"]["digest"],
    script:
        "../scripts/plot_sensitivity.py"


# Named target: experiment 4's figures, tables and provenance.
rule sensitivity:
    input:
        experiment_outputs("sensitivity") + ["results/sensitivity/summary.csv"],
