# The toy experiment's rules (tests/toy/toy_experiment.py).


rule plot_toy:
    input:
        metrics="results/metrics/toy.csv",
    output:
        "image/Toy.png",
    log:
        "logs/plot/toy.log",
    localrule: True
    params:
        provenance=PROVENANCE["toy"]["digest"],
    script:
        "toy_plot.py"


rule toy:
    input:
        experiment_outputs("toy"),
    localrule: True
