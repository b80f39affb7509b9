from genlab.data import subset_job
from genlab.scripting import job

with job(snakemake):
    subset_job(snakemake.output[0], snakemake.config["data_root"], snakemake.params.subset, snakemake.params.data)
