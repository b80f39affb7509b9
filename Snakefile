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


# One rules file per chosen experiment (genlab.experiments: the registry, plugins included).
for rules_file in experiment_rules():

    include: rules_file


include: "workflow/rules/measures.smk"
include: "workflow/rules/claims.smk"


# Every figure, table and provenance record of the chosen experiments, the effective config and the claims.
rule all:
    default_target: True
    input:
        final_outputs(),
        "results/config.yaml",
        MEASURE_OUTPUTS,
        "results/claims.csv",
    localrule: True
