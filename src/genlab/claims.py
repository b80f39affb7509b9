"""The study's claims, checked by the run itself: result CSVs in, a table of verdicts out.

Each experiment module states its own claims (`claim_inputs(config)`: the CSVs they rest on;
`claims(inputs)`: the rows) with the helpers of genlab.evidence; this module collects them over
the registry, writes results/claims.csv and prints its summary. The table has one row per claim
(COLUMNS). A claim whose experiment was not run (no input given) is not
emitted; claims on the flatness measures get the measure table and the measured runs' metrics.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from . import experiments
from .atomic import atomic_path
from .errors import GenlabError
from .evidence import FINDING_PREFIX
from .stats import HELD, INCONCLUSIVE, NOT_HELD

# kind: claim (the study's own statement, held = it passed) or finding (a paper's result, held = this run
# agrees with it). verdict: held, not_held or inconclusive (genlab.stats); held (true only for held) stays
# for older readers. config_digest: the effective config that made the row (results/config.yaml).
COLUMNS = ["experiment", "claim", "kind", "held", "verdict", "effect", "ci_low", "ci_high", "n_seeds", "evidence",
           "config_digest"]
CLAIM, FINDING = "claim", "finding"
SEPARATOR = "__"  # claims-rule input names: <experiment>__<input>, identifiers as Snakemake wants

Inputs = Mapping[str, Mapping[str, Sequence[str | os.PathLike]]]


def input_paths(config: dict) -> dict[str, dict[str, list[str]]]:
    """experiment -> its claims' inputs, for every chosen experiment; measured ones also get
    the measure table ("measures") and the measured runs' metrics ("measure_metrics")."""
    from .measures import plan as measure_plan

    measured = measure_plan.measured_experiments(config)
    found = {}
    for name in experiments.chosen(config):
        inputs = {key: list(paths) for key, paths in experiments.get(name).claim_inputs(config).items()}
        if name in measured:
            inputs["measures"] = [measure_plan.TABLE]
            inputs["measure_metrics"] = measure_plan.metrics_tables(config)
        found[name] = inputs
    return found


def flat_inputs(config: dict) -> dict[str, list[str]]:
    """input_paths as the claims rule's named inputs: {"<experiment>__<input>": paths}."""
    return {f"{name}{SEPARATOR}{key}": paths for name, inputs in input_paths(config).items() for key, paths in inputs.items()}


def nested_inputs(flat: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
    """The inverse of flat_inputs: what the claims job gets back from Snakemake's named inputs."""
    found: dict[str, dict[str, list[str]]] = {}
    for key, paths in flat.items():
        name, sep, part = key.partition(SEPARATOR)
        if not sep:
            raise GenlabError(f"claims inputs: {key!r} is not <experiment>{SEPARATOR}<input>")
        found.setdefault(name, {})[part] = [str(p) for p in paths]
    return found


def collect_claims(inputs: Inputs, config_digest: str = "") -> pd.DataFrame:
    """Every experiment's claims, in registry order, from its inputs (experiments without inputs are skipped)."""
    unknown = sorted(set(inputs) - set(experiments.names()))
    if unknown:
        raise GenlabError(f"claims inputs: unknown experiment(s) {', '.join(unknown)} (known: {', '.join(experiments.names())})")
    rows: list[dict] = []
    for name in experiments.names():
        given = {key: [str(p) for p in paths] for key, paths in (inputs.get(name) or {}).items() if paths}
        if given:
            rows += experiments.get(name).claims(given)
    df = pd.DataFrame(rows, columns=COLUMNS).astype({"held": bool, "n_seeds": "Int64"})
    df["kind"] = [FINDING if str(name).startswith(FINDING_PREFIX) else CLAIM for name in df["claim"]]
    df["config_digest"] = config_digest
    return df


def write_claims(inputs: Inputs, out_csv: str | os.PathLike, config_digest: str = "") -> pd.DataFrame:
    """Write the claims table atomically; the same inputs give the same bytes."""
    df = collect_claims(inputs, config_digest)
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    return df


MARKS = {HELD: "✓", NOT_HELD: "✗", INCONCLUSIVE: "?"}


def summary_lines(df: pd.DataFrame) -> list[str]:
    """The three verdicts counted, for claims and for findings, then one line per claim: its mark, id and evidence."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise GenlabError(f"claims table: missing column(s) {', '.join(missing)}")
    finding = df["kind"] == FINDING

    def counts(rows: pd.DataFrame, what: str) -> str:
        n = rows["verdict"].value_counts()
        return (f"{what}: {n.get(HELD, 0)} held, {n.get(NOT_HELD, 0)} not held, "
                f"{n.get(INCONCLUSIVE, 0)} inconclusive")

    lines = [f"{counts(df[~finding], f'{int((~finding).sum())} claims')}; "
             f"{counts(df[finding], f'{int(finding.sum())} findings (held: agrees with the literature)')}"]
    for _, row in df.iterrows():
        lines.append(f"{MARKS.get(row['verdict'], '?')} {row['experiment']}/{row['claim']}: {row['evidence']}")
    return lines


def print_summary(claims_csv: str | os.PathLike, out=None) -> None:
    """After a successful run: the claims table in a few lines (nothing if it was not built)."""
    import sys

    if not os.path.isfile(claims_csv):
        return
    try:
        lines = summary_lines(pd.read_csv(claims_csv))
    except (GenlabError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return
    print("genlab: claims (results/claims.csv): " + lines[0], file=out or sys.stderr)
    for line in lines[1:]:
        print("  " + line, file=out or sys.stderr)
