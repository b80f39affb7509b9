# Fetch MNIST into data_root, declared only while a file is missing: present files are inputs
# that no rule owns, so Snakemake never deletes or re-downloads a user's copy.
if MNIST_MISSING:

    rule download_mnist:
        output:
            MNIST_FILES,
        log:
            "logs/download_mnist.log",
        conda:
            "../../envs/genlab.yaml"
        script:
            "../scripts/download_mnist.py"


# Draw an experiment's training subset (and random labels) from data_seed, once for all its jobs.
rule subset:
    input:
        mnist=MNIST_FILES,
    output:
        "results/subsets/{experiment}.pt",
    params:
        subset=subset_params,
    log:
        "logs/subset/{experiment}.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/subset.py"
