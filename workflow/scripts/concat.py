from genlab.jobs import concat_job
from genlab.scripting import job

with job(snakemake):
    concat_job(list(snakemake.input), snakemake.output[0], snakemake.params.sort_by)
