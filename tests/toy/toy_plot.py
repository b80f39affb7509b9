from genlab import experiments
from genlab.scripting import job

with job(snakemake):
    experiments.get("toy").plot(snakemake.input.metrics, snakemake.output[0])
