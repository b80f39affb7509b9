"""The per-checkpoint workflow jobs: `measure` (every listed per-checkpoint kind) and `landscape`.

Each loads the checkpoint planned for its path (fp32, whatever precision it trained in) and
the run's own training subset: the labels it trained on (permuted or noisy ones included)
and its (corrupted) inputs, plus the run's test evaluation images. Rules in
workflow/rules/measures.smk; the one call of workflow/scripts/measure.py and landscape.py.
"""

from __future__ import annotations

import logging
import time

from ..errors import GenlabError
from .rows import KEY, MEASURE_COLUMNS

log = logging.getLogger("genlab")


def _load(checkpoint: str, planned: dict, subset_path: str, data_root: str, fingerprint: dict, threads: int, device: str, n_test: int | None):
    from ..checkpoint import load_planned, model_for
    from ..data import load_job_data
    from ..device import configure, describe, pick_device

    ckpt = load_planned(checkpoint, planned, fingerprint)  # a checkpoint of another run fails here, in one line
    cfg = ckpt["config"]
    dev = pick_device(device)
    configure(threads, dev)
    log.info("%s on %s", cfg.describe(), describe(dev))
    data = load_job_data(subset_path, cfg, data_root, fingerprint, dev, n_test=n_test)
    model = model_for(ckpt, checkpoint).to(dev)  # fp32 whatever precision it trained in
    return cfg, model, data


def _fits(data, n: int | None, key: str, cfg) -> None:
    have = len(data.y_train)
    if n is not None and n > have:
        raise GenlabError(f"config key {key}: {n} exceeds the {have} training images of {cfg.experiment}/{cfg.run}")


def _context(cfg, options: dict, data, chunk_size: int):
    from .context import MeasureContext

    return MeasureContext(cfg=cfg, options=options, seed=options["seed"], chunk_size=chunk_size, n_train=len(data.y_train), subset=data)


def measure_job(
    checkpoint: str, planned: dict, subset_path: str, data_root: str, out: str, options: dict,
    fingerprint: dict, threads: int = 1, device: str = "auto", chunk_size: int = 1000,
) -> list[dict]:
    """Every kind options["measures"] lists (genlab.measures.plan.measure_options) on one checkpoint:
    L = mean fp32 cross-entropy over the first n_points images of the run's training subset with
    the labels it trained on. Writes MEASURE_COLUMNS rows, kinds in registry order."""
    from ..atomic import write_csv
    from .suite import run_measures

    cfg, model, data = _load(checkpoint, planned, subset_path, data_root, fingerprint, threads, device, n_test=planned.get("eval_test_size"))
    n_points = options["n_points"]
    _fits(data, n_points, "measures.n_points", cfg)
    xy = (data.x_train[:n_points], data.y_train[:n_points])
    found = run_measures(model, xy, _context(cfg, options, data, chunk_size))
    rows = [{"experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed, **row} for row in found]
    write_csv(out, rows, MEASURE_COLUMNS)
    log.info("%d measures of %s over %d points -> %s", len(rows), cfg.describe(), n_points, out)
    return rows


def landscape_job(
    checkpoint: str, planned: dict, subset_path: str, data_root: str, out_1d: str, out_2d: str, options: dict,
    fingerprint: dict, threads: int = 1, device: str = "auto", chunk_size: int = 1000,
) -> tuple[list[dict], list[dict]]:
    """The 1-D and 2-D landscapes of one checkpoint (measure kind "landscape", genlab.measures.plan.landscape_options).

    Train: the first landscape.eval_train_size images of the run's subset with the labels
    trained on; test: the first landscape.eval_test_size test images (None: all of either).
    """
    from ..atomic import write_csv
    from . import landscape as kind

    settings = options["landscape"]
    cfg, model, data = _load(checkpoint, planned, subset_path, data_root, fingerprint, threads, device, n_test=settings["eval_test_size"])
    _fits(data, settings["eval_train_size"], "measures.landscape.eval_train_size", cfg)
    start = time.perf_counter()
    found = kind.run(model, data.head(settings["eval_train_size"], None), _context(cfg, options, data, chunk_size))
    ident = {"experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed}
    rows_1d, rows_2d = ([{**ident, **point} for point in found[part]] for part in ("1d", "2d"))
    write_csv(out_1d, rows_1d, [*KEY, *kind.COLUMNS_1D])
    write_csv(out_2d, rows_2d, [*KEY, *kind.COLUMNS_2D])
    log.info("landscape of %d + %d points in %.1f s -> %s, %s", len(rows_1d), len(rows_2d), time.perf_counter() - start, out_1d, out_2d)
    return rows_1d, rows_2d
