"""results/measures/all.csv: every measure table stacked, plus the experiments' own per-checkpoint tables.

Cells are kept as written, so a rerun is byte-identical. Rows are ordered by experiment
(registry order), run (order of first appearance), seed; a checkpoint's rows keep their
order, the extra tables' rows after its measure rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .. import experiments
from ..errors import GenlabError
from .plan import TABLE
from .rows import KEY, MEASURE_COLUMNS

log = logging.getLogger("genlab")


def _extra_rows(path: str, measure: str, column: str):
    """One measure row per row of an experiment's per-checkpoint table: `column` is its value."""
    from ..plots import read_table

    frame = read_table(path, [*KEY, column], as_text=True)
    kept = [c for c in (*KEY, "n_points") if c in frame.columns]
    return frame[kept].assign(measure=measure, value=frame[column])


def measures_table(measure_csvs: Sequence[str], extra: Sequence[tuple[str, str, str]] = ()):
    """The stacked table (MEASURE_COLUMNS); `extra`: (csv, measure name, value column) of other tables
    whose rows each become one measure of their checkpoint (genlab.measures.plan.extra_tables)."""
    import pandas as pd

    from ..plots import read_table

    frames = [read_table(path, MEASURE_COLUMNS, as_text=True) for path in measure_csvs]
    frames += [_extra_rows(path, measure, column) for path, measure, column in extra]
    if not frames or all(f.empty for f in frames):
        raise GenlabError(f"{TABLE}: no measure rows to combine")
    df = pd.concat([f.reindex(columns=MEASURE_COLUMNS) for f in frames], ignore_index=True).fillna("")
    known = experiments.names()
    unknown = sorted(set(df["experiment"]) - set(known))
    if unknown:
        raise GenlabError(f"{TABLE}: unknown experiment {unknown[0]!r} in the measure tables")
    twice = df.duplicated([*KEY, "measure"])
    if twice.any():
        row = df[twice].iloc[0]
        raise GenlabError(f"{TABLE}: measure {row['measure']} of {row['experiment']}/{row['run']} seed {row['seed']} appears twice")
    runs = {run: i for i, run in enumerate(dict.fromkeys(df["run"]))}
    key = pd.DataFrame({
        "experiment": df["experiment"].map(known.index),
        "run": df["run"].map(runs),
        "seed": pd.to_numeric(df["seed"]),
    })
    order = key.sort_values(list(key.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def measures_table_job(measure_csvs: Sequence[str], extra: Sequence[Sequence[str]], out: str) -> None:
    from ..atomic import write_csv

    extra = [tuple(entry) for entry in extra]
    table = measures_table(measure_csvs, extra)
    write_csv(out, table, MEASURE_COLUMNS)
    log.info("%d rows from %d measure and %d other tables -> %s", len(table), len(measure_csvs), len(extra), out)
