from genlab.experiments.sensitivity import plot
from genlab.scripting import job

with job(snakemake):
    plot(snakemake.input.summary, snakemake.output.accuracy, snakemake.output.loss)
