# Draw one training subset (its images, the labels trained on, any corruption) from data_seed.
# MNIST files are no input of any rule: their fingerprint is a parameter, so neither the spelling
# of data_root nor file times matter, only content. A missing file is downloaded by this job.
rule subset:
    output:
        "results/subsets/{subset}.pt",
    log:
        "logs/subset/{subset}.log",
    priority: UNBLOCKING_PRIORITY
    conda:
        "../../envs/genlab.yaml"
    params:
        subset=subset_params,
        data=FINGERPRINT,
    script:
        "../scripts/subset.py"
