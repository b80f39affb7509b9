from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.zoo_ranking import plot_figures
from genlab.scripting import job

with job(snakemake):
    plot_figures(snakemake.input, snakemake.output, snakemake.params.settings)
