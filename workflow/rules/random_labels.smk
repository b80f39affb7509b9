# Experiment 1, random labels: genlab.experiments.random_labels.


# Train (random labels) vs test (true labels) loss and accuracy per epoch.
rule plot_random_labels:
    input:
        histories=run_files("random_labels", "history.csv"),
        provenance="results/provenance/random_labels.json",
    output:
        loss=report(
            figures("random_labels")[0],
            caption="../report/random_labels.rst",
            category="1 Random labels",
        ),
        accuracy=report(
            figures("random_labels")[1],
            caption="../report/random_labels.rst",
            category="1 Random labels",
        ),
    log:
        "logs/plot/random_labels.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["random_labels"]["digest"],
        settings=figure_settings("random_labels"),
    script:
        "../scripts/plot_random_labels.py"


# Named target: experiment 1's figures, metrics table and provenance.
rule random_labels:
    input:
        experiment_outputs("random_labels"),
    localrule: True
