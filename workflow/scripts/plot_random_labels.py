from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.random_labels import plot
from genlab.scripting import job

with job(snakemake):
    plot(list(snakemake.input.histories), snakemake.output.loss, snakemake.output.accuracy, snakemake.params.settings)
