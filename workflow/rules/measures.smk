# Measures of trained checkpoints (the kinds of the registry genlab.measures: Hessian spectrum and
# trace, Keskar and average sharpness, loss landscapes, plugins), their table, ranking and figures.
# The config is checked where it is parsed (genlab.validate); paths come from genlab.measures.plan.
from genlab.measures import plan as measures_plan

MEASURE_OUTPUTS = measures_plan.outputs(config)
MEASURES_PROVENANCE = [
    PROVENANCE[e]["digest"] for e in measures_plan.measured_experiments(config)
]
LANDSCAPE_PROVENANCE = [
    PROVENANCE[e]["digest"] for e in measures_plan.landscape_experiments(config)
]


# Every listed per-checkpoint measure of one checkpoint, on the first n_points images of its training subset.
rule measure:
    input:
        checkpoint=f"{RUN_DIR}/checkpoint.pt",
        subset=subset_file,
    output:
        "results/measures/{experiment}/{run}/seed{seed}.csv",
    log:
        "logs/measure/{experiment}/{run}/seed{seed}.log",
    priority: measure_priority
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        planned=train_config,
        options=measures_plan.measure_options(config),
        data=FINGERPRINT,
        provenance=provenance_digest,
    script:
        "../scripts/measure.py"


# Loss and accuracy of one checkpoint along one and two filter-normalised random directions.
rule landscape:
    input:
        checkpoint=f"{RUN_DIR}/checkpoint.pt",
        subset=subset_file,
    output:
        curve="results/landscape/{experiment}/{run}/seed{seed}_1d.csv",
        grid="results/landscape/{experiment}/{run}/seed{seed}_2d.csv",
    log:
        "logs/landscape/{experiment}/{run}/seed{seed}.log",
    priority: landscape_priority
    conda:
        "../../envs/genlab.yaml"
    threads: config["train_threads"]
    params:
        planned=train_config,
        options=measures_plan.landscape_options(config),
        data=FINGERPRINT,
        provenance=provenance_digest,
    script:
        "../scripts/landscape.py"


# Every measure of every measured checkpoint in one tidy table, with the experiments' own per-checkpoint tables.
rule measures_table:
    input:
        measures=measures_plan.measure_tables(config),
        extra=measures_plan.extra_csvs(config),
    output:
        report(
            measures_plan.TABLE,
            caption="../report/measures_table.rst",
            category="Tables",
        ),
    log:
        "logs/measures_table/all.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        extra=measures_plan.extra_tables(config),
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/measures_table.py"


# Kendall's tau between each measure and the generalization gap, over all measured checkpoints.
rule measures_ranking:
    input:
        table=rules.measures_table.output[0],
        metrics=measures_plan.metrics_tables(config),
    output:
        report(
            measures_plan.RANKING,
            caption="../report/measures_ranking.rst",
            category="Tables",
        ),
    log:
        "logs/measures_ranking/ranking.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="ranking",
        options={},
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# Every measure against the generalization gap, one panel per measure titled with its Kendall tau.
rule plot_measures_vs_generalization:
    input:
        table=rules.measures_table.output[0],
        metrics=measures_plan.metrics_tables(config),
    output:
        report(
            measures_plan.FIGURES["vs_generalization"],
            caption="../report/measures.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_measures_vs_generalization/Measures_vs_generalization.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="vs_generalization",
        options={},
        settings=measured_settings(measures_plan.measured_experiments(config)),
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# 1-D loss landscapes of the checkpoints listed in measures.landscape.runs, train and test.
rule plot_landscape_1d:
    input:
        curves=measures_plan.landscape_tables(config, "1d"),
    output:
        report(
            measures_plan.FIGURES["landscape_1d"],
            caption="../report/measures_landscape.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_landscape_1d/Flatness_landscape_1d.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="landscape_1d",
        options={"curves": measures_plan.landscape_curves(config, "1d")},
        settings=measured_settings(measures_plan.landscape_experiments(config)),
        provenance=LANDSCAPE_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# 2-D loss landscapes of the listed checkpoints side by side, train and test, same contour levels.
rule plot_landscape_2d:
    input:
        grids=measures_plan.landscape_tables(config, "2d"),
    output:
        report(
            measures_plan.FIGURES["landscape_2d"],
            caption="../report/measures_landscape.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_landscape_2d/Flatness_landscape_2d.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="landscape_2d",
        options={"curves": measures_plan.landscape_curves(config, "2d")},
        settings=measured_settings(measures_plan.landscape_experiments(config)),
        provenance=LANDSCAPE_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# Named target: every measure table, the ranking and the measure figures the config asks for.
rule measures:
    input:
        MEASURE_OUTPUTS,
    localrule: True
