from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.provenance import write_provenance
from genlab.scripting import job

with job(snakemake):
    write_provenance(snakemake.params.record, snakemake.output[0])
