from genlab.plots import plot_params_vs_gen
from genlab.scripting import logged

with logged(snakemake.log[0]):
    plot_params_vs_gen(snakemake.input[0], snakemake.output.loss, snakemake.output.accuracy)
