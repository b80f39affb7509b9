from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.sensitivity import plot
from genlab.scripting import job

with job(snakemake):
    plot(snakemake.input.summary, snakemake.output.accuracy, snakemake.output.loss, snakemake.params.settings)
