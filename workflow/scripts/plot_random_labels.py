from genlab.plots import plot_random_labels
from genlab.scripting import logged

with logged(snakemake.log[0]):
    plot_random_labels(list(snakemake.input), snakemake.output.loss, snakemake.output.accuracy)
