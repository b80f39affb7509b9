from genlab.jobs import metrics_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    metrics_job(list(snakemake.input.checkpoints), snakemake.output[0])
