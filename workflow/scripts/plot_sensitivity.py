from genlab.plots import plot_sensitivity
from genlab.scripting import logged

with logged(snakemake.log[0]):
    plot_sensitivity(snakemake.input[0], snakemake.output.accuracy, snakemake.output.loss)
