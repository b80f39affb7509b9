"""One measure figure or the ranking table from CSVs: the one call of workflow/scripts/plot_measures.py."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ..errors import GenlabError

log = logging.getLogger("genlab")

PLOTS = ("ranking", "vs_generalization", "measure_sweep", "landscape_1d", "landscape_2d")


def plot_job(
    kind: str, out: str, table: str | None = None, metrics: Sequence[str] = (),
    curves: Mapping[str, Sequence[str]] | None = None, settings: str = "", **options,
) -> None:
    """kind: one of PLOTS. table and metrics: the measure table and the runs' metrics CSVs;
    curves: figure label -> landscape CSVs; settings: the line under a figure's title
    (genlab.plots.measured_settings_line); options: plot_measure_sweep's keyword arguments."""
    from . import figures

    metrics = list(metrics)
    if kind == "ranking":
        from ..atomic import write_csv
        from .ranking import RANKING_COLUMNS, ranking

        write_csv(out, ranking(table, metrics), RANKING_COLUMNS)
    elif kind == "vs_generalization":
        figures.plot_measures_vs_generalization(table, metrics, out, settings)
    elif kind == "measure_sweep":
        figures.plot_measure_sweep(table, metrics, out, settings=settings, **options)
    elif kind == "landscape_1d":
        figures.plot_landscape_1d({label: list(paths) for label, paths in curves.items()}, out, settings)
    elif kind == "landscape_2d":
        figures.plot_landscape_2d({label: list(paths) for label, paths in curves.items()}, out, settings)
    else:
        raise GenlabError(f"unknown measure output {kind!r}, expected one of {', '.join(PLOTS)}")
    log.info("%s -> %s", kind, out)
