from genlab.warm import delegate

delegate(snakemake, __file__)  # from here on in a warm child, when the workflow started one
from genlab.experiments.interpolation import interpolation_job
from genlab.scripting import job

with job(snakemake):
    interpolation_job(
        snakemake.input.a,
        snakemake.input.b,
        planned_a=snakemake.params.planned["A"],
        planned_b=snakemake.params.planned["B"],
        subset_path=snakemake.input.subset,
        data_root=snakemake.config["data_root"],
        out=snakemake.output[0],
        alphas=snakemake.params.alphas,
        eval_train_size=snakemake.params.eval_train_size,
        eval_test_size=snakemake.params.eval_test_size,
        fingerprint=snakemake.params.data,
        threads=snakemake.threads,
        device=snakemake.config["device"],
        batch_size=snakemake.config["eval_batch_size"],
    )
