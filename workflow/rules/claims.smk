# The study's claims, checked by the run itself: genlab.claims.
from genlab import claims as study_claims


# One row per claim of the study (experiment, claim, kind, verdict, effect, interval, evidence); a claim that does not hold
# is reported as such and does not fail the workflow.
rule claims:
    input:
        **study_claims.flat_inputs(config),
    output:
        report(
            "results/claims.csv", caption="../report/claims.rst", category="0 Claims"
        ),
    log:
        "logs/claims.log",
    localrule: True
    conda:
        "../../envs/genlab.yaml"
    params:
        provenance=[record["digest"] for record in PROVENANCE.values()],
        config_digest=CONFIG_DIGEST,
    script:
        "../scripts/claims.py"


# Named target: the claims table.
rule claims_table:
    input:
        rules.claims.output[0],
    localrule: True


onsuccess:
    study_claims.print_summary("results/claims.csv")
