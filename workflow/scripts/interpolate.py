from genlab.jobs import interpolation_job
from genlab.scripting import logged

with logged(snakemake.log[0]):
    interpolation_job(
        snakemake.input.a,
        snakemake.input.b,
        subset_path=snakemake.input.subset,
        data_root=snakemake.config["data_root"],
        out=snakemake.output[0],
        alphas=snakemake.params.alphas,
        eval_train_size=snakemake.params.eval_train_size,
        eval_test_size=snakemake.params.eval_test_size,
        threads=snakemake.threads,
        device=snakemake.config["device"],
        batch_size=snakemake.config["eval_batch_size"],
    )
