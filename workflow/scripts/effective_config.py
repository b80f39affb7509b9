from genlab.provenance import write_effective_config
from genlab.scripting import job

with job(snakemake):
    write_effective_config(snakemake.params.config, snakemake.output[0])
