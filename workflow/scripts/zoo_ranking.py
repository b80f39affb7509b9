from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.zoo_ranking import write_ranking
from genlab.scripting import job

with job(snakemake):
    write_ranking(snakemake.input.runs, list(snakemake.input.measures), snakemake.output[0])
