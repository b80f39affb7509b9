from genlab.jobs import subset_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    subset_job(snakemake.output[0], snakemake.config["data_root"], **snakemake.params.subset)
