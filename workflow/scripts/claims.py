from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.claims import nested_inputs, write_claims
from genlab.scripting import job

with job(snakemake):
    write_claims(nested_inputs(dict(snakemake.input.items())), snakemake.output[0], snakemake.params.config_digest)
