from genlab.claims import write_claims
from genlab.scripting import job

with job(snakemake):
    write_claims({key: list(paths) for key, paths in snakemake.input.items()}, snakemake.output[0])
