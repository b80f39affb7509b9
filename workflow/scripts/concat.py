from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.jobs import concat_job
from genlab.scripting import job

with job(snakemake):
    concat_job(list(snakemake.input), snakemake.output[0], snakemake.params.sort_by)
