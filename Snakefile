# genlab: reproduce the four generalization experiments from raw MNIST.
# Usage: snakemake --cores 4                        (reference config, all seven figures)
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
include: "workflow/rules/measures.smk"
include: "workflow/rules/plots.smk"


# Every figure and metrics table of the study.
rule all:
    input:
        final_outputs(),
    default_target: True
