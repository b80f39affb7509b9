from genlab.experiments.interpolation import plot
from genlab.scripting import job

with job(snakemake):
    plot(list(snakemake.input.curves), snakemake.output[0])
