"""Which ready job Snakemake starts first: priorities from the cost model (coarse rates, parse time, no torch).

A training's priority is its own work plus the longest job that reads its checkpoint (interpolating
two solutions, a per-checkpoint measure of its experiment), so no long chain starts late and runs
alone at the end. Flatness measures are left out of a training's count: they are a target of their
own, and count for themselves once their checkpoint is there.
"""

from __future__ import annotations

from .cost import MEASURE, TRAIN, model_for, plan_jobs
from .rates import Timing, coarse_calibrations

# Subsets and provenance records take a fraction of a second and unblock everything after them.
UNBLOCKING_PRIORITY = 1_000_000


def priorities(config: dict) -> dict[tuple[str, str], int]:
    """(rule, job) -> coarse seconds of work; a training's plus the longest job of its experiment that
    reads its checkpoint (the rows' `reads`). Snakemake runs ready jobs of higher priority first."""
    rows = plan_jobs(config, model_for(config, Timing(coarse_calibrations()), 0.0))
    after: dict[str, float] = {}  # training job -> the longest job of its experiment that reads its checkpoint
    for row in rows:
        if row["stage"] == MEASURE and "chain" not in row:  # flatness measures (chained) are a target of their own
            for job in row["reads"]:
                after[job] = max(after.get(job, 0.0), row["work_s"])
    return {(row["rule"], row["job"]): int(row["work_s"] + (after.get(row["job"], 0.0) if row["stage"] == TRAIN else 0.0))
            for row in rows}
