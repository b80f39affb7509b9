"""One function per workflow step; the Snakemake scripts call exactly one of these.

Each reads its inputs, does the work, and writes its outputs atomically, so a
failed job leaves either nothing or a complete file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .atomic import read_csv, write_csv
from .checkpoint import load_checkpoint, model_for, require, save_checkpoint
from .config import TrainConfig
from .data import load_tensors, read_subset, write_subset
from .device import configure, describe, pick_device
from .errors import GenlabError
from .measures.interpolation import COLUMNS as INTERPOLATION_COLUMNS
from .measures.interpolation import interpolation_curve
from .measures.sensitivity import sensitivity
from .mnist import load_split, to_float
from .training import HISTORY_COLUMNS, train

log = logging.getLogger("genlab")

FINAL_METRICS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
METRICS_COLUMNS = [
    "experiment", "run", "seed", "data_seed", "arch", "width", "n_train", "lr", "batch_size", "epochs",
    "precision", "n_params", *FINAL_METRICS,
]
SENSITIVITY_COLUMNS = [
    "experiment", "run", "seed", "data_seed", "batch_size", "lr", "n_points", "output", "sensitivity", *FINAL_METRICS,
]


def subset_job(out: str, data_root: str, n_train: int, seed: int, random_labels: bool) -> None:
    subset = write_subset(out, data_root, n_train, seed, random_labels)
    log.info("subset of %d images (seed %d, random labels %s) -> %s", subset["n_train"], seed, random_labels, out)


def _check_subset(subset: dict, cfg: TrainConfig, path: str) -> None:
    want = {"n_train": cfg.n_train, "seed": cfg.data_seed, "random_labels": cfg.random_labels}
    have = {k: subset[k] for k in want}
    if have != want:
        raise GenlabError(f"{path}: subset {have} does not match the run's config {want}")


def resume_file(resume_dir: str | Path, cfg: TrainConfig) -> Path:
    return Path(resume_dir) / f"{cfg.experiment}_{cfg.run}_seed{cfg.seed}_{cfg.digest()}.pt"


def train_job(
    cfg: dict,
    subset_path: str,
    data_root: str,
    checkpoint: str,
    history: str,
    resume_dir: str,
    threads: int = 1,
    device: str = "auto",
    resume_interval_s: float = 60.0,
) -> dict:
    cfg = TrainConfig.from_dict(cfg)
    dev = pick_device(device)
    configure(threads, dev)
    log.info("%s on %s", cfg.describe(), describe(dev))
    subset = read_subset(subset_path)
    _check_subset(subset, cfg, subset_path)
    data = load_tensors(data_root, subset, dev, n_test=cfg.eval_test_size)
    eval_data = data.head(cfg.eval_train_size, None)
    resume_path = resume_file(resume_dir, cfg)
    result = train(cfg, data, eval_data, resume_path, resume_interval_s)
    write_csv(history, result.history, HISTORY_COLUMNS)
    save_checkpoint(checkpoint, result.model, cfg, result.final)
    resume_path.unlink(missing_ok=True)  # the final outputs now hold everything it held
    log.info("final %s", result.final)
    return result.final


def metrics_rows(checkpoints: list[str]) -> list[dict]:
    rows = []
    for path in checkpoints:
        ckpt = load_checkpoint(path)
        cfg: TrainConfig = ckpt["config"]
        rows.append(
            {
                **{k: getattr(cfg, k) for k in METRICS_COLUMNS if hasattr(cfg, k)},
                "n_params": ckpt["n_params"],
                **{k: ckpt["metrics"][k] for k in FINAL_METRICS},
            }
        )
    return rows


def metrics_job(checkpoints: list[str], out: str) -> None:
    write_csv(out, metrics_rows(checkpoints), METRICS_COLUMNS)


def interpolation_job(
    checkpoint_a: str, checkpoint_b: str, subset_path: str, data_root: str, out: str,
    alphas: list[float], eval_train_size: int | None, eval_test_size: int | None,
    threads: int = 1, device: str = "auto", batch_size: int = 1000,
) -> list[dict]:
    a, b = load_checkpoint(checkpoint_a), load_checkpoint(checkpoint_b)
    cfg_a, cfg_b = a["config"], b["config"]
    if (cfg_a.arch, cfg_a.width) != (cfg_b.arch, cfg_b.width):
        raise GenlabError(
            f"{checkpoint_b}: architecture {cfg_b.arch}/{cfg_b.width} cannot be interpolated with {checkpoint_a} ({cfg_a.arch}/{cfg_a.width})"
        )
    dev = pick_device(device)
    configure(threads, dev)
    subset = read_subset(subset_path)
    _check_subset(subset, cfg_a, subset_path)
    data = load_tensors(data_root, subset, dev, n_test=eval_test_size).head(eval_train_size, None)
    rows = interpolation_curve(model_for(a, checkpoint_a), a["state_dict"], b["state_dict"], alphas, data, batch_size)
    for row in rows:
        row["seed_a"], row["seed_b"] = cfg_a.seed, cfg_b.seed
    write_csv(out, rows, [*INTERPOLATION_COLUMNS, "seed_a", "seed_b"])
    return rows


def sensitivity_job(
    checkpoint: str, data_root: str, out: str, n_points: int, output: str,
    threads: int = 1, device: str = "auto",
) -> dict:
    ckpt = load_checkpoint(checkpoint)
    require(ckpt, checkpoint, experiment="sensitivity")
    cfg: TrainConfig = ckpt["config"]
    dev = pick_device(device)
    configure(threads, dev)
    test = load_split(data_root, "test")
    if n_points > len(test.labels):
        raise GenlabError(f"sensitivity.n_points: {n_points} exceeds the {len(test.labels)} test images in {data_root}")
    x = to_float(test.images[:n_points]).to(dev)
    value = sensitivity(model_for(ckpt, checkpoint).to(dev), x, output)
    row = {
        "experiment": cfg.experiment, "run": cfg.run, "seed": cfg.seed, "data_seed": cfg.data_seed,
        "batch_size": cfg.batch_size, "lr": cfg.lr, "n_points": n_points, "output": output,
        "sensitivity": value, **{k: ckpt["metrics"][k] for k in FINAL_METRICS},
    }
    write_csv(out, [row], SENSITIVITY_COLUMNS)
    log.info("sensitivity %s = %.6g over %d points", cfg.describe(), value, n_points)
    return row


def concat_job(csvs: list[str], out: str, sort_by: list[str]) -> None:
    """Stack same-shaped CSVs (one row per run) into one tidy table."""
    rows = [row for path in csvs for row in read_csv(path)]
    if not rows:
        raise GenlabError(f"{out}: nothing to combine")
    rows.sort(key=lambda r: tuple(float(r[k]) for k in sort_by))
    write_csv(out, rows, list(rows[0]))

