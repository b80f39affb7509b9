from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.params_vs_gen import plot
from genlab.scripting import job

with job(snakemake):
    plot(snakemake.input.metrics, snakemake.output.loss, snakemake.output.accuracy, snakemake.params.settings)
