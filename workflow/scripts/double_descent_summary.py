from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.double_descent import write_summary
from genlab.scripting import job

with job(snakemake):
    write_summary(snakemake.input.metrics, snakemake.params.run_specs, snakemake.output[0])
