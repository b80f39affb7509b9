# Runtime knobs (device, threads, evaluation chunk size) come from the config, not params,
# so changing them reruns nothing.
from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.measures.jobs import measure_job
from genlab.scripting import job

with job(snakemake):
    measure_job(
        snakemake.input.checkpoint,
        planned=snakemake.params.planned,
        subset_path=snakemake.input.subset,
        data_root=snakemake.config["data_root"],
        out=snakemake.output[0],
        options=snakemake.params.options,
        fingerprint=snakemake.params.data,
        threads=snakemake.threads,
        device=snakemake.config["device"],
        chunk_size=snakemake.config["eval_batch_size"],
    )
