"""Training and evaluation: tensors on the device, seeded, resumable, checked for divergence.

Per step there is no host synchronisation (no .item(), no DataLoader); metrics are
measured once per epoch on whole, fixed evaluation sets.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .atomic import remove_stale_temps, save_torch
from .columns import EPOCHS_TRAINED, FINAL_METRICS, REACHED_TARGET, SAMPLING_COLUMNS, STEPS_TO_LOSS, STEPS_TO_LOSS_VALUE
from .config import TrainConfig
from .data import Tensors
from .errors import GenlabError
from .models import from_config

log = logging.getLogger("genlab")

RESUME_FORMAT = "genlab-resume-2"
DIVERGENCE_FACTOR = 10.0  # a train loss this many times its first measured value has diverged


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000, precision: str = "fp32",
    groups: torch.Tensor | None = None,
) -> dict:
    """Mean cross-entropy and accuracy over all of (x, y); one host sync at the end.

    Also `loss_se`, the standard error of the mean loss (sample standard deviation of the
    per-example losses over sqrt(n)), and `n`, the number of examples: what a claim's interval
    needs. With a boolean `groups` mask (N,), also the accuracy over the True and the False
    examples (`accuracy_true`, `accuracy_false`; None where a group is empty).
    """
    model.eval()
    total_loss = torch.zeros((), device=x.device, dtype=torch.float64)
    total_square = torch.zeros((), device=x.device, dtype=torch.float64)
    hits = []
    for i in range(0, len(x), batch_size):
        with autocast(x.device, precision):
            logits = model(x[i : i + batch_size])  # (B, 10)
        logits = logits.float()
        total_loss += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum").double()
        total_square += F.cross_entropy(logits, y[i : i + batch_size], reduction="none").double().square().sum()
        hits.append(logits.argmax(1) == y[i : i + batch_size])
    hit = torch.cat(hits) if hits else torch.zeros(0, dtype=torch.bool, device=x.device)  # (N,)
    n = max(len(x), 1)
    mean, mean_square = total_loss.item() / n, total_square.item() / n
    variance = max(mean_square - mean * mean, 0.0) * n / (n - 1) if n > 1 else math.nan
    result = {"loss": mean, "accuracy": hit.sum().item() / n, "loss_se": math.sqrt(variance / n), "n": len(x)}
    if groups is not None:
        for name, mask in (("accuracy_true", groups), ("accuracy_false", ~groups)):
            count = int(mask.sum())
            result[name] = hit[mask].sum().item() / count if count else None
    return result


def evaluate_splits(model: nn.Module, data: Tensors, batch_size: int, precision: str = "fp32", test: bool = True) -> dict:
    """Train and test metrics; with test=False the test ones are None (evaluate_test fills them in)."""
    train = evaluate(model, data.x_train, data.y_train, batch_size, precision, groups=data.corrupted)
    # The keys in the order they always had (checkpoints hold this dict); the test ones filled below.
    metrics = {
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "test_loss": None,
        "test_accuracy": None,
        "train_loss_se": train["loss_se"],
        "test_loss_se": None,
        "n_train_eval": train["n"],
        "n_test_eval": None,
    }
    if test:
        metrics.update(evaluate_test(model, data, batch_size, precision))
    if data.corrupted is not None:
        metrics["clean_train_accuracy"] = train["accuracy_false"]
        metrics["corrupted_train_accuracy"] = train["accuracy_true"]
    return metrics


TEST_METRICS = ("test_loss", "test_accuracy", "test_loss_se", "n_test_eval")


def evaluate_test(model: nn.Module, data: Tensors, batch_size: int, precision: str = "fp32") -> dict:
    test = evaluate(model, data.x_test, data.y_test, batch_size, precision)
    return dict(zip(TEST_METRICS, (test["loss"], test["accuracy"], test["loss_se"], test["n"])))


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """Shuffling order of one epoch, a pure function of (seed, epoch): resuming needs no generator state."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def init_model(cfg: TrainConfig, device: torch.device) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return from_config(cfg).to(device)


def seed_dropout(cfg: TrainConfig) -> None:
    """Dropout masks come from torch's global generator: seeded from the run's seed, so a run gives the
    same weights in a fresh process and in a warm job forked from a used one (a resume restores its state).
    Runs without dropout draw nothing from it and leave it alone."""
    if cfg.dropout > 0:
        torch.manual_seed(DROPOUT_SEED_STRIDE * cfg.seed + 1)


DROPOUT_SEED_STRIDE = 1_000_003  # apart from the initialisation's seed (cfg.seed) for every seed


SGD_MOMENTUM = 0.9  # the zoo's SGD (Jiang et al. 2019)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum SGD_MOMENTUM; weight_decay is the optimizer's L2 penalty (0: none)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=SGD_MOMENTUM, weight_decay=cfg.weight_decay)
    # The fused kernel updates all parameters in one pass: 1.1-1.2x faster training steps (bench/).
    # weight_decay 0 takes the same path as leaving it out: the other experiments' steps are unchanged.
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


# On CPU a large batch's activations overflow the caches: its gradient is summed over
# slices of this size instead (the same mean gradient; 1.37x faster and less memory for the
# deep CNN at batch 1024, bench/). GPUs want the whole batch at once.
CPU_MICRO_BATCH = 128


class StopRequest:
    """Set by SIGTERM (Slurm's time limit, preemption) or SIGINT (Ctrl-C): stop at the next step boundary."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def __bool__(self) -> bool:
        return self.signal is not None

    @contextlib.contextmanager
    def installed(self):
        """Catch SIGTERM and SIGINT while training (main thread only; elsewhere a no-op)."""
        def handler(signum, frame):
            self.signal = signal.Signals(signum).name

        try:
            previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        except ValueError:  # not the main thread
            yield self
            return
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def train_epoch(model, optimizer, data: Tensors, cfg: TrainConfig, epoch: int, start_step: int = 0, stop=None) -> int:
    """Run the epoch's steps from `start_step`; return the step index reached (< steps_per_epoch if stopped)."""
    model.train()
    x, y = data.x_train, data.y_train
    micro = CPU_MICRO_BATCH if x.device.type == "cpu" else cfg.batch_size
    order = epoch_permutation(len(x), cfg.seed, epoch).to(x.device)
    n_steps = cfg.steps_per_epoch()
    for step in range(start_step, n_steps):
        if stop:
            return step
        idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        optimizer.zero_grad(set_to_none=True)
        for j in range(0, len(idx), micro):
            part = idx[j : j + micro]
            with autocast(x.device, cfg.precision):
                logits = model(x[part])  # (b, 10)
            # Sum over the slice, divided by the whole batch: slices add up to the batch mean.
            loss = F.cross_entropy(logits.float(), y[part], reduction="sum") / len(idx)
            loss.backward()
        optimizer.step()
    return n_steps


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict]

    @property
    def final(self) -> dict:
        last = self.history[-1]  # the last epoch trained is always measured
        return {**{k: last[k] for k in (*FINAL_METRICS, *SAMPLING_COLUMNS)}, EPOCHS_TRAINED: last["epoch"]}

    def fit(self, threshold: float | None) -> dict:
        """epochs_to_fit and steps_to_fit: the first measured epoch whose train accuracy reached threshold."""
        for row in self.history:
            if threshold is not None and row["train_accuracy"] >= threshold:
                return {"epochs_to_fit": row["epoch"], "steps_to_fit": row.get("step")}
        return {"epochs_to_fit": None, "steps_to_fit": None}

    def first_step(self, metric: str, value: float) -> int | None:
        """The step count of the first measured epoch whose `metric` was <= value; None if none was."""
        return next((row.get("step") for row in self.history if row[metric] <= value), None)

    def target(self, target_train_loss: float) -> dict:
        """reached_target (the last epoch's train loss <= target: training stops there) and
        steps_to_loss_0.1 (Jiang et al. 2019's optimisation measure; None if never reached)."""
        return {REACHED_TARGET: self.history[-1]["train_loss"] <= target_train_loss,
                STEPS_TO_LOSS: self.first_step("train_loss", STEPS_TO_LOSS_VALUE)}

    def stop_metrics(self, cfg: TrainConfig) -> dict:
        """The final metrics and what the run's stopping rule records (fit_threshold, target_train_loss)."""
        if cfg.fit_threshold is not None:
            return {**self.final, **self.fit(cfg.fit_threshold)}
        if cfg.target_train_loss is not None:
            return {**self.final, **self.target(cfg.target_train_loss)}
        return self.final


def _set_aside(path: Path, reason: str) -> None:
    """A resume state that cannot be used is renamed, never deleted: the job starts over."""
    kept = path.with_name(f"{path.name}.unusable-{time.strftime('%Y%m%dT%H%M%S')}")
    path.rename(kept)
    log.warning("%s: unusable resume state (%s), set aside as %s; starting over", path, reason, kept.name)


def _load_resume(path: Path, cfg: TrainConfig, model, optimizer) -> tuple[int, int, list[dict]] | None:
    """(epochs completed, steps done in the next epoch, history) from a saved state, or None if unusable.

    On None the model and optimizer may hold part of the state: the caller starts them afresh.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
            raise ValueError(f"not a {RESUME_FORMAT} state")
        if state.get("config") != cfg.to_dict():
            raise ValueError("saved for another config")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        return state["epoch"], state.get("step_in_epoch", 0), state["history"]
    except Exception as exc:  # empty, truncated, random bytes, another format: never a traceback
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        _set_aside(path, reason)
        return None


def _save_resume(path: Path, cfg: TrainConfig, model, optimizer, epoch: int, step: int, history: list[dict]) -> None:
    save_torch(
        {
            "format": RESUME_FORMAT,
            "config": cfg.to_dict(),
            "epoch": epoch,  # epochs completed
            "step_in_epoch": step,  # optimizer steps already taken in epoch + 1
            "history": history,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
        },
        path,
    )


def _check_progress(cfg: TrainConfig, epoch: int, metrics: dict, history: list[dict]) -> None:
    core = {k: metrics[k] for k in FINAL_METRICS if metrics[k] is not None}  # test metrics may wait (test_each_epoch)
    if not all(math.isfinite(v) for v in core.values()):
        raise GenlabError(
            f"non-finite loss at epoch {epoch} of {cfg.describe()}: train_loss={metrics['train_loss']}; lower the learning rate"
        )
    first = history[0]["train_loss"] if history else metrics["train_loss"]
    if metrics["train_loss"] > DIVERGENCE_FACTOR * first:
        raise GenlabError(
            f"diverged at epoch {epoch} of {cfg.describe()}: train_loss {metrics['train_loss']:.4g} is over "
            f"{DIVERGENCE_FACTOR:g} times its first measured value {first:.4g}; lower the learning rate"
        )


def train(
    cfg: TrainConfig,
    data: Tensors,
    eval_data: Tensors,
    resume_path: str | Path | None = None,
    resume_interval_s: float = 60.0,
    eval_batch_size: int = 1000,
) -> TrainResult:
    """Train up to cfg.epochs epochs; resume from `resume_path` if a state for this exact config is there.

    Metrics are measured at cfg.evaluated_epochs() and at the last epoch. The resume state
    is saved after an epoch once `resume_interval_s` have passed since the last save
    (0: every epoch), and at once on SIGTERM or SIGINT, after which the run stops with
    a GenlabError. A run with a stopping rule (cfg.stop_rule(): fit_threshold, target_train_loss)
    stops at the first measured epoch that reaches it; its history rows also say the step count.
    Where not cfg.test_each_epoch() the test split is measured only at the epoch training stops.
    """
    device = data.x_train.device
    model = init_model(cfg, device)
    optimizer = make_optimizer(model, cfg)
    seed_dropout(cfg)
    start, start_step, history = 0, 0, []
    resume_path = Path(resume_path) if resume_path else None
    if resume_path:
        remove_stale_temps(resume_path)
        if resume_path.is_file():
            resumed = _load_resume(resume_path, cfg, model, optimizer)
            if resumed is None:  # a partial load may have changed them: start afresh
                model = init_model(cfg, device)
                optimizer = make_optimizer(model, cfg)
            else:
                start, start_step, history = resumed
                log.info("resuming %s from %s after epoch %d (step %d of the next)", cfg.describe(), resume_path, start, start_step)
    measured = set(cfg.evaluated_epochs())
    rule = cfg.stop_rule()
    test_each_epoch = cfg.test_each_epoch()
    last_save = time.monotonic()
    t_start, done_epochs = time.monotonic(), 0
    with StopRequest().installed() as stop:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            reached = train_epoch(model, optimizer, data, cfg, epoch, start_step, stop)
            start_step = 0
            if stop:
                if resume_path:
                    _save_resume(resume_path, cfg, model, optimizer, epoch, reached, history)
                    raise GenlabError(
                        f"stopped by {stop.signal} in epoch {epoch + 1} of {cfg.describe()}; resume state saved to {resume_path}: rerun with --rerun-incomplete"
                    )
                raise GenlabError(f"stopped by {stop.signal} in epoch {epoch + 1} of {cfg.describe()}")
            done_epochs += 1
            last = epoch + 1 == cfg.epochs
            if epoch + 1 in measured or last:
                metrics = evaluate_splits(model, eval_data, eval_batch_size, cfg.precision, test=test_each_epoch or last)
                stopping = rule is not None and rule.reached(metrics)
                if metrics["test_loss"] is None and stopping:
                    metrics.update(evaluate_test(model, eval_data, eval_batch_size, cfg.precision))
                _check_progress(cfg, epoch + 1, metrics, history)
                row = {"epoch": epoch + 1, **metrics, "seed": cfg.seed, "data_seed": cfg.data_seed}
                if rule:
                    row["step"] = (epoch + 1) * cfg.steps_per_epoch()
                if cfg.target_train_loss is not None:
                    row[REACHED_TARGET] = stopping
                history.append(row)
                eta = (time.monotonic() - t_start) / done_epochs * (cfg.epochs - epoch - 1)
                tested = "" if metrics["test_loss"] is None else (
                    f" test_loss {metrics['test_loss']:.4f} test_acc {metrics['test_accuracy']:.4f}")
                log.info(
                    "epoch %d/%d %.1fs train_loss %.4f train_acc %.4f%s eta %.0fs",
                    epoch + 1, cfg.epochs, time.perf_counter() - t0, metrics["train_loss"], metrics["train_accuracy"], tested, eta,
                )
                if stopping:
                    log.info("stopping: %s %.4f reached %s at epoch %d", rule.metric, metrics[rule.metric], rule.describe(), epoch + 1)
                    break
            else:
                eta = (time.monotonic() - t_start) / done_epochs * (cfg.epochs - epoch - 1)
                log.info("epoch %d/%d %.1fs eta %.0fs", epoch + 1, cfg.epochs, time.perf_counter() - t0, eta)
            due = time.monotonic() - last_save >= resume_interval_s
            if resume_path and due and not last:
                _save_resume(resume_path, cfg, model, optimizer, epoch + 1, 0, history)
                last_save = time.monotonic()
    return TrainResult(model, history)
