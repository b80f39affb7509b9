from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.measures.tables import measures_table_job
from genlab.scripting import job

with job(snakemake):
    measures_table_job(list(snakemake.input.measures), snakemake.params.extra, snakemake.output[0])
