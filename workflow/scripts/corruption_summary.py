from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.corruption_summary import write_summary
from genlab.scripting import job

with job(snakemake):
    write_summary(list(snakemake.input.histories), snakemake.params.run_specs, snakemake.params.fit_threshold, snakemake.output[0])
