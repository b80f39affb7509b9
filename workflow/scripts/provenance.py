from genlab.provenance import write_provenance
from genlab.scripting import job

with job(snakemake):
    write_provenance(snakemake.params.record, snakemake.output[0])
