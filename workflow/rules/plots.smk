# Plotting and table aggregation are light: on a cluster they run where Snakemake runs.
localrules:
    all,
    random_labels,
    params_vs_gen,
    interpolation,
    sensitivity,
    metrics,
    sensitivity_summary,
    plot_random_labels,
    plot_params_vs_gen,
    plot_interpolation,
    plot_sensitivity,


# Figure 1: train vs test loss and accuracy per epoch on random labels.
rule plot_random_labels:
    input:
        random_label_histories,
    output:
        loss=report(FIGURES["random_labels"][0], caption="../report/random_labels.rst", category="1 Random labels"),
        accuracy=report(FIGURES["random_labels"][1], caption="../report/random_labels.rst", category="1 Random labels"),
    log:
        "logs/plot/random_labels.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/plot_random_labels.py"


# Figure 2: final train/test loss and accuracy against the number of parameters.
rule plot_params_vs_gen:
    input:
        "results/metrics/params_vs_gen.csv",
    output:
        loss=report(FIGURES["params_vs_gen"][0], caption="../report/params_vs_gen.rst", category="2 Parameters"),
        accuracy=report(FIGURES["params_vs_gen"][1], caption="../report/params_vs_gen.rst", category="2 Parameters"),
    log:
        "logs/plot/params_vs_gen.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/plot_params_vs_gen.py"


# Figure 3: loss (log scale) and accuracy along the line between solutions A and B.
rule plot_interpolation:
    input:
        interpolation_tables,
    output:
        report(FIGURES["interpolation"][0], caption="../report/interpolation.rst", category="3 Interpolation"),
    log:
        "logs/plot/interpolation.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/plot_interpolation.py"


# Figures 4 and 5: sensitivity with accuracy, and with loss, against batch size.
rule plot_sensitivity:
    input:
        rules.sensitivity_summary.output[0],
    output:
        accuracy=report(FIGURES["sensitivity"][0], caption="../report/sensitivity.rst", category="4 Sensitivity"),
        loss=report(FIGURES["sensitivity"][1], caption="../report/sensitivity.rst", category="4 Sensitivity"),
    log:
        "logs/plot/sensitivity.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/plot_sensitivity.py"


# Named targets: one experiment's figures and metrics table.
rule random_labels:
    input:
        experiment_outputs("random_labels"),


rule params_vs_gen:
    input:
        experiment_outputs("params_vs_gen"),


rule interpolation:
    input:
        experiment_outputs("interpolation"),


rule sensitivity:
    input:
        experiment_outputs("sensitivity"),
