# genlab: reproduce the study's experiments from raw MNIST.
# Usage: snakemake --cores 4                        (reference config, every figure)
#        snakemake --cores 2 --configfile presets/quick.yaml
#        snakemake image/Flatness_vs_gen_p1_inter.png   (one figure and its dependencies)
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The reference settings; --configfile presets/X.yaml and --config key=value override them.
configfile: Path(workflow.basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/random_labels.smk"
include: "workflow/rules/params_vs_gen.smk"
include: "workflow/rules/interpolation.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/corruption.smk"
include: "workflow/rules/measures.smk"
include: "workflow/rules/claims.smk"


# Tables, provenance records and figures are light: on a cluster they run where Snakemake runs.
localrules:
    all,
    metrics,
    provenance,
    effective_config,
    random_labels,
    params_vs_gen,
    interpolation,
    sensitivity,
    corruption,
    sensitivity_summary,
    corruption_summary,
    plot_random_labels,
    plot_params_vs_gen,
    plot_interpolation,
    plot_sensitivity,
    plot_corruption,
    measures,
    measures_table,
    measures_ranking,
    plot_measures_vs_generalization,
    plot_sharpness_vs_batch_size,
    plot_landscape_1d,
    plot_landscape_2d,
    claims,
    claims_table,


# Every figure, table and provenance record of the study, the effective config and the claims.
rule all:
    default_target: True
    input:
        final_outputs(),
        "results/config.yaml",
        MEASURE_OUTPUTS,
        "results/claims.csv",
