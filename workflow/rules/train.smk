# Train one configuration (experiment, run, seed) to a checkpoint and a history of measured epochs.
rule train:
    input:
        subset=subset_file,
    output:
        checkpoint=f"{RUN_DIR}/checkpoint.pt",
        history=f"{RUN_DIR}/history.csv",
    log:
        "logs/train/{experiment}/{run}/seed{seed}.log",
    # The longest trainings start first, so no long job runs alone at the end while cores idle.
    priority: train_priority
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        cfg=train_config,
        data=FINGERPRINT,
        resume_dir="results/resume",
    script:
        "../scripts/train.py"


# One row per run: hyperparameters, parameter count and final metrics, each checkpoint checked
# against the run planned for its path.
rule metrics:
    input:
        checkpoints=experiment_checkpoints,
    output:
        report(
            "results/metrics/{experiment}.csv",
            caption="../report/metrics.rst",
            category="Tables",
        ),
    log:
        "logs/metrics/{experiment}.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        planned=planned_configs,
        data=FINGERPRINT,
    script:
        "../scripts/metrics.py"


# What an experiment's results were made from: its config section, every run's training config,
# the data fingerprint, and their digest (which every downstream rule takes as a parameter).
rule provenance:
    output:
        report(
            "results/provenance/{experiment}.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/provenance/{experiment}.log",
    priority: UNBLOCKING_PRIORITY
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        record=provenance_record,
    script:
        "../scripts/provenance.py"


# The effective config of this run (config.yaml, presets and --config merged, defaults filled).
rule effective_config:
    output:
        report(
            "results/config.yaml",
            caption="../report/config.rst",
            category="Provenance",
        ),
    log:
        "logs/effective_config.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        config=EFFECTIVE_CONFIG,
    script:
        "../scripts/effective_config.py"
