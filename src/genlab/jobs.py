"""The shared workflow steps (training, metrics tables, stacking tables); the scripts call one each.

Each reads its inputs, checks they are what the workflow planned (config and data
fingerprint), does the work, and writes its outputs atomically, so a failed job
leaves either nothing or a complete file. Experiment-specific steps live in
genlab.experiments.<name>.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .atomic import check_writable, remove_stale_temps, write_csv
from .checkpoint import load_planned, save_checkpoint
from .config import TrainConfig
from .data import load_job_data
from .device import configure, describe, pick_device
from .errors import GenlabError
from .columns import (
    EPOCHS_TRAINED, FINAL_METRICS, FIT_HISTORY_COLUMNS, HISTORY_COLUMNS, METRICS_COLUMNS, SAMPLING_COLUMNS, TARGET_HISTORY_COLUMNS,
)
from .training import train

log = logging.getLogger("genlab")


def resume_file(resume_dir: str | Path, cfg: TrainConfig) -> Path:
    return Path(resume_dir) / f"{cfg.experiment}_{cfg.run}_seed{cfg.seed}_{cfg.digest()}.pt"


def attempts_log(resume_dir: str | Path, cfg: TrainConfig) -> Path:
    """The log of a run's earlier, unfinished attempts: Snakemake deletes a job's log before each attempt."""
    return resume_file(resume_dir, cfg).with_suffix(".log")


def history_columns(cfg: TrainConfig) -> list[str]:
    """history.csv's columns: runs with a stopping rule also record steps (and what the rule needs)."""
    if cfg.fit_threshold is not None:
        return FIT_HISTORY_COLUMNS
    if cfg.target_train_loss is not None:
        return TARGET_HISTORY_COLUMNS
    return HISTORY_COLUMNS


def train_job(
    cfg: dict,
    subset_path: str,
    data_root: str,
    checkpoint: str,
    history: str,
    resume_dir: str,
    fingerprint: dict,
    threads: int = 1,
    device: str = "auto",
    resume_interval_s: float = 60.0,
    eval_batch_size: int = 1000,
) -> dict:
    cfg = TrainConfig.from_dict(cfg)
    resume_path = resume_file(resume_dir, cfg)
    check_writable(resume_dir)  # a read-only or full folder fails now, not after the first epoch
    for output in (checkpoint, history):
        remove_stale_temps(output)
    dev = pick_device(device)
    configure(threads, dev)
    log.info("%s on %s", cfg.describe(), describe(dev))
    data = load_job_data(subset_path, cfg, data_root, fingerprint, dev, n_test=cfg.eval_test_size)
    eval_data = data.head(cfg.eval_train_size, None)
    result = train(cfg, data, eval_data, resume_path, resume_interval_s, eval_batch_size)
    write_csv(history, result.history, history_columns(cfg))
    metrics = result.stop_metrics(cfg)
    save_checkpoint(checkpoint, result.model, cfg, metrics, data=fingerprint["digest"])
    resume_path.unlink(missing_ok=True)  # the final outputs now hold everything it held
    log.info("final %s", metrics)
    return metrics


def metrics_rows(checkpoints: list[str], planned: list[dict], fingerprint: dict | None = None) -> list[dict]:
    if len(checkpoints) != len(planned):
        raise GenlabError(f"{len(checkpoints)} checkpoints but {len(planned)} planned runs")
    rows = []
    for path, want in zip(checkpoints, planned):
        ckpt = load_planned(path, want, fingerprint)
        cfg: TrainConfig = ckpt["config"]
        rows.append(
            {
                **{k: getattr(cfg, k) for k in METRICS_COLUMNS if hasattr(cfg, k)},
                "n_params": ckpt["n_params"],
                **{k: ckpt["metrics"].get(k) for k in (*FINAL_METRICS, *SAMPLING_COLUMNS, EPOCHS_TRAINED)},
            }
        )
    return rows


def metrics_job(checkpoints: list[str], planned: list[dict], fingerprint: dict, out: str) -> None:
    """One row per run: hyperparameters, parameter count and final metrics."""
    write_csv(out, metrics_rows(checkpoints, planned, fingerprint), METRICS_COLUMNS)


def concat_job(csvs: list[str], out: str, sort_by: list[str]) -> None:
    """Stack same-shaped CSVs (one row per run) into one tidy table, sorted by `sort_by`."""
    import pandas as pd

    from .plots import read_table

    frames = [read_table(path, as_text=True) for path in csvs]
    if not frames or all(f.empty for f in frames):
        raise GenlabError(f"{out}: nothing to combine")
    df = pd.concat(frames, ignore_index=True)
    order = df[sort_by].apply(pd.to_numeric).sort_values(sort_by, kind="stable").index
    df = df.loc[order]
    write_csv(out, df, list(frames[0].columns))
