from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.claims import write_claims
from genlab.scripting import job

with job(snakemake):
    write_claims({key: list(paths) for key, paths in snakemake.input.items()}, snakemake.output[0])
