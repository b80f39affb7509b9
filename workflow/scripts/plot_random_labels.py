from genlab.experiments.random_labels import plot
from genlab.scripting import job

with job(snakemake):
    plot(list(snakemake.input.histories), snakemake.output.loss, snakemake.output.accuracy)
