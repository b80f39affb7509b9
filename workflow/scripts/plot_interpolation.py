from genlab.plots import plot_interpolation
from genlab.scripting import logged

with logged(snakemake.log[0]):
    plot_interpolation(list(snakemake.input), snakemake.output[0])
