# Runtime knobs (device, resume interval) come from the config, not params, so changing them reruns nothing.
from genlab.jobs import train_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    train_job(
        snakemake.params.cfg,
        subset_path=snakemake.input.subset,
        data_root=snakemake.config["data_root"],
        checkpoint=snakemake.output.checkpoint,
        history=snakemake.output.history,
        resume_dir=snakemake.params.resume_dir,
        threads=snakemake.threads,
        device=snakemake.config["device"],
        resume_interval_s=snakemake.config["resume_interval_s"],
    )
