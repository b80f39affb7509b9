from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.sensitivity import sensitivity_job
from genlab.scripting import job

with job(snakemake):
    sensitivity_job(
        snakemake.input.checkpoint,
        planned=snakemake.params.planned,
        data_root=snakemake.config["data_root"],
        out=snakemake.output[0],
        n_points=snakemake.params.n_points,
        output=snakemake.params.output,
        fingerprint=snakemake.params.data,
        threads=snakemake.threads,
        device=snakemake.config["device"],
    )
