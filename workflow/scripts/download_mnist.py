from genlab.mnist import ensure_mnist
from genlab.scripting import logged

with logged(snakemake.log[0]):
    ensure_mnist(snakemake.config["data_root"])
