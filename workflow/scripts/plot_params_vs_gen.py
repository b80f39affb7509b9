from genlab.experiments.params_vs_gen import plot
from genlab.scripting import job

with job(snakemake):
    plot(snakemake.input.metrics, snakemake.output.loss, snakemake.output.accuracy)
