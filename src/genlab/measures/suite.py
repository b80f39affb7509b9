"""One checkpoint's per-checkpoint measures: every listed kind's run(), as tidy rows in registry order."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ..errors import GenlabError
from . import get, listed
from .rows import ROW_COLUMNS

log = logging.getLogger("genlab")


def _checked(kind: str, rows) -> list[dict]:
    """A kind's rows must have the row keys and names starting with the kind (kind_of relies on it)."""
    rows = list(rows)
    for found in rows:
        if not isinstance(found, dict) or list(found) != ROW_COLUMNS:
            raise GenlabError(f"measure kind {kind!r} returned a row {found!r}, expected the keys {', '.join(ROW_COLUMNS)}")
        name = str(found["measure"])
        if name != kind and not name.startswith(kind + "_"):
            raise GenlabError(f"measure kind {kind!r} returned measure {name!r}: its names must be {kind} or start with {kind}_")
    return rows


def run_measures(model, data, context, kinds: Sequence[str] | None = None) -> list[dict]:
    """The rows of `kinds` (default: those context.options lists) on data = (x, y), the model left as it was.

    One run() per kind, timed in the log, so a slow kind shows in the job's log.
    """
    kinds = listed(context.options) if kinds is None else list(kinds)
    model.eval()
    rows: list[dict] = []
    for kind in kinds:
        start = time.perf_counter()
        found = _checked(kind, get(kind).run(model, data, context))
        log.info("%s: %d values in %.1f s", kind, len(found), time.perf_counter() - start)
        rows += found
    return rows
