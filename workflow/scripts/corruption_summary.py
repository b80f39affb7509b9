from genlab.experiments.corruption import write_summary
from genlab.scripting import job

with job(snakemake):
    write_summary(list(snakemake.input.histories), snakemake.params.run_specs, snakemake.params.fit_threshold, snakemake.output[0])
