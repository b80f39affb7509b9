from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.provenance import write_effective_config
from genlab.scripting import job

with job(snakemake):
    write_effective_config(snakemake.params.config, snakemake.output[0])
