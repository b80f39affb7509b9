from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.interpolation import plot
from genlab.scripting import job

with job(snakemake):
    plot(list(snakemake.input.curves), snakemake.output[0], snakemake.params.settings, snakemake.params.solutions)
