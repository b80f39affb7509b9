# Experiment 3, interpolation between a large-batch and a small-batch solution:
# genlab.experiments.interpolation.
from genlab.experiments import interpolation as exp3


# Loss and accuracy along theta(a) = (1-a) theta_A + a theta_B for one seed's two solutions.
rule interpolate:
    input:
        a="results/runs/interpolation/A/seed{seed}/checkpoint.pt",
        b="results/runs/interpolation/B/seed{seed}/checkpoint.pt",
        subset="results/subsets/interpolation.pt",
    output:
        "results/interpolation/seed{seed}.csv",
    log:
        "logs/interpolate/seed{seed}.log",
    priority: job_priority("interpolate", "interpolation/seed{seed}")
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        planned=planned_runs("interpolation", exp3.SOLUTIONS),
        alphas=exp3.alphas(config),
        eval_train_size=config["interpolation"]["alpha_eval_train_size"],
        eval_test_size=config["interpolation"]["alpha_eval_test_size"],
        data=FINGERPRINT,
    script:
        "../scripts/interpolate.py"


# Loss (log scale) and accuracy along the line between solutions A and B.
rule plot_interpolation:
    input:
        curves=exp3.curve_paths(config),
        provenance="results/provenance/interpolation.json",
    output:
        report(
            figures("interpolation")[0],
            caption="../report/interpolation.rst",
            category="3 Interpolation",
        ),
    log:
        "logs/plot/interpolation.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["interpolation"]["digest"],
        settings=figure_settings("interpolation"),
        solutions=exp3.solution_labels(config),
    script:
        "../scripts/plot_interpolation.py"


# Named target: experiment 3's figure, metrics table and provenance.
rule interpolation:
    input:
        experiment_outputs("interpolation"),
    localrule: True
