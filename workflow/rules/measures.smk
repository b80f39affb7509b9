# Loss and accuracy along theta(a) = (1-a) theta_A + a theta_B for one seed's two solutions.
rule interpolate:
    input:
        a="results/runs/interpolation/A/seed{seed}/checkpoint.pt",
        b="results/runs/interpolation/B/seed{seed}/checkpoint.pt",
        subset="results/subsets/interpolation.pt",
        mnist=MNIST_FILES,
    output:
        "results/interpolation/seed{seed}.csv",
    params:
        alphas=ALPHAS,
        eval_train_size=config["interpolation"]["alpha_eval_train_size"],
        eval_test_size=config["interpolation"]["alpha_eval_test_size"],
    threads: config["train_threads"]
    log:
        "logs/interpolate/seed{seed}.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/interpolate.py"


# Mean Jacobian norm of one experiment-4 checkpoint over the first n_points test images.
rule sensitivity_measure:
    input:
        checkpoint="results/runs/sensitivity/{run}/seed{seed}/checkpoint.pt",
        mnist=MNIST_FILES,
    output:
        "results/sensitivity/{run}/seed{seed}.csv",
    params:
        n_points=config["sensitivity"]["n_points"],
        output=config["sensitivity"]["output"],
    threads: config["train_threads"]
    log:
        "logs/sensitivity_measure/{run}/seed{seed}.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/sensitivity.py"


# All experiment-4 runs in one table: batch size, sensitivity and the four final metrics.
rule sensitivity_summary:
    input:
        sensitivity_tables,
    output:
        "results/sensitivity/summary.csv",
    params:
        sort_by=["batch_size", "seed"],
    log:
        "logs/sensitivity_summary.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/concat.py"
