from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.sensitivity import plot_sharpness
from genlab.scripting import job

with job(snakemake):
    plot_sharpness(
        snakemake.input.table, list(snakemake.input.metrics), snakemake.output[0], snakemake.params.names, snakemake.params.marked,
        snakemake.params.settings,
    )
