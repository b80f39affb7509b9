from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.zoo import write_runs
from genlab.scripting import job

with job(snakemake):
    write_runs(list(snakemake.input.histories), snakemake.params.run_specs, snakemake.params.section, snakemake.output[0])
