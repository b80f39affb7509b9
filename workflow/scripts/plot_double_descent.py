from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.double_descent_figures import plot
from genlab.scripting import job

with job(snakemake):
    plot(list(snakemake.input.histories), snakemake.params.run_specs, snakemake.input.summary, dict(snakemake.output.items()),
         snakemake.params.settings)
