# Experiment 2, parameters vs generalization: genlab.experiments.params_vs_gen.


# Final train/test loss and accuracy against the number of parameters.
rule plot_params_vs_gen:
    input:
        metrics="results/metrics/params_vs_gen.csv",
        provenance="results/provenance/params_vs_gen.json",
    output:
        loss=report(
            figures("params_vs_gen")[0],
            caption="../report/params_vs_gen.rst",
            category="2 Parameters",
        ),
        accuracy=report(
            figures("params_vs_gen")[1],
            caption="../report/params_vs_gen.rst",
            category="2 Parameters",
        ),
    log:
        "logs/plot/params_vs_gen.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=PROVENANCE["params_vs_gen"]["digest"],
        settings=figure_settings("params_vs_gen"),
    script:
        "../scripts/plot_params_vs_gen.py"


# Named target: experiment 2's figures, metrics table and provenance.
rule params_vs_gen:
    input:
        experiment_outputs("params_vs_gen"),
    localrule: True
