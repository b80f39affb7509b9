# The study's claims, checked by the run itself: genlab.claims.
from genlab import claims as study_claims


def claims_inputs():
    """The CSVs every claim rests on, by genlab.claims.collect_claims' keys."""
    inputs = {
        "random_labels_histories": run_files("random_labels", "history.csv"),
        "params_vs_gen_metrics": ["results/metrics/params_vs_gen.csv"],
        "interpolation_curves": [f"results/interpolation/seed{seed}.csv" for seed in config["seeds"]],
        "interpolation_metrics": ["results/metrics/interpolation.csv"],
        "sensitivity_summary": ["results/sensitivity/summary.csv"],
        "corruption_summary": ["results/corruption/summary.csv"],
        "corruption_histories": [path for path in run_files("corruption", "history.csv") if "/noise" in path],
    }
    if MEASURED:
        inputs["measures"] = [measures_jobs.TABLE]
        inputs["measure_metrics"] = measured_metrics()
    return inputs


# One row per claim of the study (experiment, claim, held, evidence); a claim that does not hold
# is reported as such and does not fail the workflow.
rule claims:
    input:
        **claims_inputs(),
    output:
        report("results/claims.csv", caption="../report/claims.rst", category="0 Claims"),
    params:
        provenance=[record["digest"] for record in PROVENANCE.values()],
    log:
        "logs/claims.log",
    conda:
        "../../envs/genlab.yaml"
    script:
        "../scripts/claims.py"


# Named target: the claims table.
rule claims_table:
    input:
        rules.claims.output[0],


onsuccess:
    study_claims.print_summary("results/claims.csv")
