# One script for the ranking table and the measure figures: params.kind says which.
from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.measures.figure_jobs import plot_job
from genlab.scripting import job

with job(snakemake):
    plot_job(
        snakemake.params.kind,
        snakemake.output[0],
        table=snakemake.input.get("table"),
        metrics=list(snakemake.input.get("metrics", [])),
        settings=snakemake.params.get("settings", ""),
        **snakemake.params.options,
    )
