# Train one configuration (experiment, run, seed) to a checkpoint and a per-epoch history.
rule train:
    input:
        subset=rules.subset.output[0],
        mnist=MNIST_FILES,
    output:
        checkpoint=f"{RUN_DIR}/checkpoint.pt",
        history=f"{RUN_DIR}/history.csv",
    params:
        cfg=train_config,
        resume_dir="results/resume",
    threads: config["train_threads"]
    log:
        "logs/train/{experiment}/{run}/seed{seed}.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/train.py"


# One row per run: hyperparameters, parameter count and final metrics of an experiment.
rule metrics:
    input:
        checkpoints=experiment_checkpoints,
    output:
        "results/metrics/{experiment}.csv",
    log:
        "logs/metrics/{experiment}.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/metrics.py"
