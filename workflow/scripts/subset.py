from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.data import subset_job
from genlab.scripting import job

with job(snakemake):
    subset_job(snakemake.output[0], snakemake.config["data_root"], snakemake.params.subset, snakemake.params.data)
