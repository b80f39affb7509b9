# Runtime knobs (device, threads, resume interval, eval batch size) come from the config, not params,
# so changing them reruns nothing.
from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.jobs import attempts_log, train_job
from genlab.config import TrainConfig
from genlab.scripting import job

cfg = TrainConfig.from_dict(snakemake.params.cfg)
with job(snakemake, carry=attempts_log(snakemake.params.resume_dir, cfg)):
    train_job(
        snakemake.params.cfg,
        subset_path=snakemake.input.subset,
        data_root=snakemake.config["data_root"],
        checkpoint=snakemake.output.checkpoint,
        history=snakemake.output.history,
        resume_dir=snakemake.params.resume_dir,
        fingerprint=snakemake.params.data,
        threads=snakemake.threads,
        device=snakemake.config["device"],
        resume_interval_s=snakemake.config["resume_interval_s"],
        eval_batch_size=snakemake.config["eval_batch_size"],
    )
