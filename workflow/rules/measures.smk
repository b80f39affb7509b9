# Flatness measures of trained checkpoints (Hessian spectrum and trace, Keskar and average sharpness,
# loss landscapes), their table, ranking and figures: genlab.measures.jobs.
from genlab.measures import jobs as measures_jobs

try:
    measures_jobs.check(config)
    measures_jobs.check_against_data(config)
except GenlabError as error:
    sys.exit(f"genlab: error: {error}")

# What the config asks for; paths and labels come from genlab.measures.jobs (tested there).
MEASURE_OUTPUTS = measures_jobs.outputs(config)
MEASURES_PROVENANCE = [
    PROVENANCE[e]["digest"] for e in measures_jobs.measured_experiments(config)
]
LANDSCAPE_PROVENANCE = [
    PROVENANCE[e]["digest"]
    for e in dict.fromkeys(e for e, _, _ in measures_jobs.landscape_checkpoints(config))
]


# Every requested measure of one checkpoint, on the first n_points images of its own training subset.
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
        spec=measures_jobs.spec(config),
        n_points=config["measures"]["n_points"],
        seed=config["measures"]["seed"],
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
        points_1d=config["measures"]["landscape"]["points_1d"],
        points_2d=config["measures"]["landscape"]["points_2d"],
        eval_train_size=config["measures"]["landscape"]["eval_train_size"],
        eval_test_size=config["measures"]["landscape"]["eval_test_size"],
        direction_seed=config["measures"]["landscape"]["seed"],
        data=FINGERPRINT,
        provenance=provenance_digest,
    script:
        "../scripts/landscape.py"


# Every measure of every measured checkpoint in one tidy table, with experiment 4's sensitivity.
rule measures_table:
    input:
        measures=measures_jobs.measure_tables(config),
        sensitivity=measures_jobs.sensitivity_tables(config),
    output:
        report(
            measures_jobs.TABLE,
            caption="../report/measures_table.rst",
            category="Tables",
        ),
    log:
        "logs/measures_table/all.log",
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/measures_table.py"


# Kendall's tau between each measure and the generalization gap, over all measured checkpoints.
rule measures_ranking:
    input:
        table=measures_jobs.TABLE,
        metrics=measures_jobs.metrics_tables(config),
    output:
        report(
            measures_jobs.RANKING,
            caption="../report/measures_ranking.rst",
            category="Tables",
        ),
    log:
        "logs/measures_ranking/ranking.log",
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
        table=measures_jobs.TABLE,
        metrics=measures_jobs.metrics_tables(config),
    output:
        report(
            measures_jobs.FIGURES["vs_generalization"],
            caption="../report/measures.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_measures_vs_generalization/Measures_vs_generalization.log",
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="vs_generalization",
        options={},
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# Keskar sharpness and the Hessian's top eigenvalue and trace of experiment 4 against batch size.
rule plot_sharpness_vs_batch_size:
    input:
        table=measures_jobs.TABLE,
        metrics=measures_jobs.metrics_tables(config),
    output:
        report(
            measures_jobs.FIGURES["sharpness_vs_batch_size"],
            caption="../report/measures_sharpness.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_sharpness_vs_batch_size/Sharpness_vs_batch_size.log",
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="sharpness_vs_batch_size",
        options=measures_jobs.sharpness_options(config),
        provenance=MEASURES_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# 1-D loss landscapes of the requested checkpoints (interpolation A and B), train and test.
rule plot_landscape_1d:
    input:
        curves=measures_jobs.landscape_tables(config, "1d"),
    output:
        report(
            measures_jobs.FIGURES["landscape_1d"],
            caption="../report/measures_landscape.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_landscape_1d/Flatness_landscape_1d.log",
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="landscape_1d",
        options={"curves": measures_jobs.landscape_curves(config, "1d")},
        provenance=LANDSCAPE_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# 2-D loss landscapes of the requested checkpoints side by side, train and test, same contour levels.
rule plot_landscape_2d:
    input:
        grids=measures_jobs.landscape_tables(config, "2d"),
    output:
        report(
            measures_jobs.FIGURES["landscape_2d"],
            caption="../report/measures_landscape.rst",
            category="6 Measures",
        ),
    log:
        "logs/plot_landscape_2d/Flatness_landscape_2d.log",
    conda:
        "../../envs/genlab.yaml"
    params:
        kind="landscape_2d",
        options={"curves": measures_jobs.landscape_curves(config, "2d")},
        provenance=LANDSCAPE_PROVENANCE,
    script:
        "../scripts/plot_measures.py"


# Named target: every measure table, the ranking and the measure figures.
rule measures:
    input:
        MEASURE_OUTPUTS,
