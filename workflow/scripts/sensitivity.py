from genlab.jobs import sensitivity_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    sensitivity_job(
        snakemake.input.checkpoint,
        data_root=snakemake.config["data_root"],
        out=snakemake.output[0],
        n_points=snakemake.params.n_points,
        output=snakemake.params.output,
        threads=snakemake.threads,
        device=snakemake.config["device"],
    )
