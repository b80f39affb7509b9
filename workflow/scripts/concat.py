from genlab.jobs import concat_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    concat_job(list(snakemake.input), snakemake.output[0], snakemake.params.sort_by)
