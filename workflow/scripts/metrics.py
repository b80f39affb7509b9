from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.jobs import metrics_job
from genlab.scripting import job

with job(snakemake):
    metrics_job(list(snakemake.input.checkpoints), snakemake.params.planned, snakemake.params.data, snakemake.output[0])
