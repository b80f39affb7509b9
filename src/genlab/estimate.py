"""How long will a config take here? Per-job wall-time estimates of the planned jobs, and their total.

    genlab estimate [configfiles...] [--config key=value ...] [--device cpu|cuda] [--cores N]

Model of one job (every number a documented measurement or constant, nothing fitted):

    training job  = epochs x steps_per_epoch x step_time(arch, width, batch_size)
                  + len(cfg.evaluated_epochs()) x (eval train images + eval test images) x eval_time(arch, width)
                  + fixed_cost
    interpolate   = alphas x (alpha_eval_train_size + alpha_eval_test_size) x eval_time(deep_cnn) + fixed_cost
    sensitivity   = n_points x point_time(shallow_cnn) + fixed_cost
    measure (flatness, config key measures; one job per measured checkpoint, n_points images):
                    n_points x [2 x (hessian.iters + hessian.probes) x grad + len(keskar_eps) x keskar_steps x grad
                                + len(average_sigma) x (samples + 1) x eval_time] + fixed_cost
                  (grad = step_time at batch 128 / 128, a forward and backward pass per image; a
                  Hessian-vector product counted as two; Lanczos and the ascent counted at their
                  maximum steps: an upper bound)
    landscape     = (points_1d + points_2d^2) x (eval train + eval test images) x eval_time + fixed_cost
    subset, metrics jobs (import torch)                 = fixed_cost
    provenance, summary, plot, effective_config jobs    = min(fixed_cost, LIGHT_JOB_S)
    fixed_cost: WARM_JOB_S with warm jobs (local runs), else measured (`import genlab.jobs` + JOB_OVERHEAD_S)

step_time is seconds per optimizer step, eval_time seconds per evaluated image (forward only,
in chunks of eval_batch_size), point_time seconds per sensitivity point (one forward and ten
backward passes). `calibrate` measures them on this machine with genlab's own code
(genlab.training.train_epoch, evaluate, measures.sensitivity.jacobian_norms) on random data of
the right shapes, with the thread count and settings of a job (genlab.device.configure).
Runs trained until they fit (experiment 5, fit_threshold) are counted at their maximum epochs:
their estimate is an upper bound.

Wall time of the whole plan: jobs run `parallel = max(1, cores // train_threads)` at a time, so

    wall = max(critical path, sum of job times / parallel)

where the critical path is, per experiment, the longest job of each stage (subset, training,
measure, tables, figures) added up. On CUDA, jobs running at once share the GPU; the estimate
assumes they do not slow each other down (small networks leave most of a GPU idle).

`one_line_total` (for the workflow to print when it starts, < 5 s, and without importing torch,
which the workflow's parse step avoids) uses no measurement of this machine: it uses the
throughputs bench/run.py measured on the reference machine (COARSE_*, below).
"""

from __future__ import annotations

import bisect
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import plan
from .config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
MNIST_TEST_IMAGES = 10_000  # when the test file is absent (data downloaded by the workflow later)
DAY_S = 86_400.0

# A job's cost besides its training and measuring: Snakemake starting the job (a new Python
# running its script wrapper, which imports snakemake's script support), importing torch and
# genlab, reading the subset and the test images, building the model, writing the checkpoint and
# CSVs. `genlab estimate` measures the import part (`python -c "import genlab.jobs"`) and adds
# JOB_OVERHEAD_S for the rest; bench/e2e.py measures the whole of it ("fixed cost of a training
# job"). bench/e2e.py --tiny on the reference machine, loaded by other work (load 3 on 2 cores):
# fixed cost median 6.0 s, 4.6 s of it before the job's first log line, `import genlab.jobs` 2.6 s.
JOB_OVERHEAD_S = 2.0
# Default fixed cost where nothing is measured (one_line_total, --coarse): importing genlab.jobs
# (torch's CUDA build included; about 2.5 s on the reference machine) + JOB_OVERHEAD_S.
DEFAULT_FIXED_COST_S = 4.5
# Jobs that never import torch: provenance, tables, figures, effective config (Python, pandas,
# matplotlib imports and a small file). A constant, about 2 s on the reference machine.
LIGHT_JOB_S = 2.0
# With warm jobs (genlab.warm, local runs) every job forks from a process that has imported
# everything: bench/e2e.py on the quick preset (2-core AMD EPYC) measured a training job's fixed
# cost at 0.20 s (median) and provenance, metrics and plot jobs at 0.1 to 0.6 s of wall time.
WARM_JOB_S = 0.5

# Coarse throughputs, fp32, one thread, measured by bench/run.py on the reference machine
# (2-core Xeon, Sapphire Rapids class, torch 2.14 CPU build; README, Performance):
# training samples/s by (arch, width) and batch size (each includes a small per-epoch
# evaluation, so they slightly underestimate the training rate), evaluation images/s
# (deep_cnn: interpolation, 2000 images per alpha at 0.67 alpha/s; width_cnn and shallow_cnn:
# assumed three times their training rate at batch 128, a forward pass being a third of a step),
# and sensitivity points/s (shallow_cnn, 1161).
COARSE_SAMPLES_PER_S = {
    ("deep_cnn", None): {64: 552.0, 128: 538.0, 1024: 378.0},
    ("width_cnn", 2): {128: 21898.0},
    ("width_cnn", 20): {128: 5564.0},
    ("shallow_cnn", None): {32: 3402.0, 1024: 10144.0},
}
COARSE_EVAL_IMAGES_PER_S = {("deep_cnn", None): 1340.0, ("width_cnn", 2): 65000.0, ("width_cnn", 20): 16700.0,
                            ("shallow_cnn", None): 30000.0}
COARSE_POINTS_PER_S = {("shallow_cnn", None): 1161.0}
POINT_OVER_EVAL = 26.0  # sensitivity point / evaluated image, shallow_cnn: for an arch without a measured rate

StepTime = Callable[[str, "int | None", int], float]  # (arch, width, batch_size) -> seconds per optimizer step
EvalTime = Callable[[str, "int | None"], float]  # (arch, width) -> seconds per evaluated image
PointTime = Callable[[str, "int | None"], float]  # (arch, width) -> seconds per sensitivity point

# Stages of an experiment's chain of jobs, for the critical path.
STAGES = {"subset": 0, "provenance": 0, "train": 1, "interpolate": 2, "sensitivity_measure": 2, "measure": 2,
          "landscape": 2, "metrics": 3, "sensitivity_summary": 3, "corruption_summary": 3, "measures_table": 3,
          "plot": 4, "effective_config": 0}


# ---------------------------------------------------------------- the arithmetic (no timing)


def _steps_per_epoch(cfg: TrainConfig) -> int:
    return math.ceil(cfg.n_train / cfg.batch_size)  # genlab.training.steps_per_epoch, without importing torch


def _row(experiment: str, rule: str, name: str, work_s: float, fixed_s: float, **extra) -> dict:
    return {"experiment": experiment, "rule": rule, "job": name, "work_s": work_s, "fixed_s": fixed_s,
            "total_s": work_s + fixed_s, "upper_bound": False, **extra}


def estimate_runs(
    configs: Sequence[TrainConfig], step_time: StepTime, eval_time: EvalTime, fixed_cost: float,
    n_test: int = MNIST_TEST_IMAGES,
) -> list[dict]:
    """One row per training job: its steps, evaluations and estimated seconds.

    A run's evaluation set is its first eval_train_size training images (all n_train if None)
    and its first eval_test_size test images (all n_test if None), measured at each of
    cfg.evaluated_epochs(). Runs with a fit_threshold are counted at cfg.epochs: upper_bound.
    """
    rows = []
    for cfg in configs:
        steps = _steps_per_epoch(cfg)
        step_s = step_time(cfg.arch, cfg.width, cfg.batch_size)
        evaluated = len(cfg.evaluated_epochs())
        eval_images = (cfg.eval_train_size or cfg.n_train) + (n_test if cfg.eval_test_size is None else cfg.eval_test_size)
        train_s = cfg.epochs * steps * step_s
        eval_s = evaluated * eval_images * eval_time(cfg.arch, cfg.width)
        rows.append(_row(
            cfg.experiment, "train", f"{cfg.experiment}/{cfg.run}/seed{cfg.seed}", train_s + eval_s, fixed_cost,
            arch=cfg.arch, width=cfg.width, batch_size=cfg.batch_size, epochs=cfg.epochs, steps_per_epoch=steps,
            step_s=step_s, train_s=train_s, evaluated_epochs=evaluated, eval_images=eval_images, eval_s=eval_s,
            upper_bound=cfg.fit_threshold is not None,
        ))
    return rows


def estimate_measures(
    config: dict, eval_time: EvalTime, point_time: PointTime, fixed_cost: float, n_test: int = MNIST_TEST_IMAGES,
) -> list[dict]:
    """The measuring jobs: one interpolation curve per seed, one sensitivity per experiment-4 run and seed."""
    from .experiments import interpolation

    rows = []
    section = config["interpolation"]
    n_alphas = len(interpolation.alphas(config))
    images = (section["alpha_eval_train_size"] or section["n_train"]) + (section["alpha_eval_test_size"] or n_test)
    for seed in config["seeds"]:
        work = n_alphas * images * eval_time(interpolation.ARCH, None)
        rows.append(_row("interpolation", "interpolate", f"interpolation/seed{seed}", work, fixed_cost,
                         alphas=n_alphas, eval_images=images))
    n_points = config["sensitivity"]["n_points"]
    for run, seed in plan.all_runs(config, "sensitivity"):
        work = n_points * point_time("shallow_cnn", None)
        rows.append(_row("sensitivity", "sensitivity_measure", f"sensitivity/{run}/seed{seed}", work, fixed_cost,
                         n_points=n_points))
    return rows


def estimate_flatness(config: dict, step_time: StepTime, eval_time: EvalTime, fixed_cost: float,
                      n_test: int = MNIST_TEST_IMAGES) -> list[dict]:
    """The flatness measures (config key measures): one `measure` job per measured checkpoint, one
    `landscape` job per landscape checkpoint; experiment "measures", chained to the training they measure.
    Upper bounds: Lanczos and the sharpness ascent are counted at their maximum number of steps."""
    if "measures" not in config:
        return []
    from .measures import jobs as measures_jobs

    section = config["measures"]
    kinds = section["measures"]
    rows = []
    for experiment, run, seed in measures_jobs.measured_checkpoints(config):
        cfg = plan.train_config(config, experiment, run, seed)
        grad = step_time(cfg.arch, cfg.width, 128) / 128
        passes = 0.0  # image passes per measured image, in seconds
        if "hessian" in kinds:
            passes += 2 * (section["hessian"]["iters"] + section["hessian"]["probes"]) * grad
        if "keskar" in kinds:
            passes += len(section["keskar_eps"]) * section["keskar_steps"] * grad
        if "average_sharpness" in kinds:
            passes += len(section["average_sigma"]) * (section["samples"] + 1) * eval_time(cfg.arch, cfg.width)
        rows.append(_row("measures", "measure", f"measure/{experiment}/{run}/seed{seed}", section["n_points"] * passes,
                         fixed_cost, chain=experiment, n_points=section["n_points"], upper_bound=True))
    land = section["landscape"]
    for experiment, run, seed in measures_jobs.landscape_checkpoints(config):
        cfg = plan.train_config(config, experiment, run, seed)
        points = land["points_1d"] + land["points_2d"] ** 2
        images = (land["eval_train_size"] or cfg.n_train) + (n_test if land["eval_test_size"] is None else land["eval_test_size"])
        rows.append(_row("measures", "landscape", f"landscape/{experiment}/{run}/seed{seed}",
                         points * images * eval_time(cfg.arch, cfg.width), fixed_cost, chain=experiment,
                         points=points, eval_images=images))
    return rows


def estimate_light_jobs(config: dict, fixed_cost: float, light_cost: float = LIGHT_JOB_S) -> list[dict]:
    """Jobs with (almost) no work: subsets and metrics tables (they import torch), provenance, summaries, figures."""
    from . import experiments

    rows = []
    seen: set[str] = set()
    for experiment in plan.EXPERIMENTS:
        for run in plan.run_names(config, experiment):
            name = plan.subset_name(experiment, run)
            if name not in seen:
                seen.add(name)
                rows.append(_row(experiment, "subset", f"subset/{name}", 0.0, fixed_cost))
        rows.append(_row(experiment, "metrics", f"metrics/{experiment}", 0.0, fixed_cost))
        rows.append(_row(experiment, "provenance", f"provenance/{experiment}", 0.0, light_cost))
        if experiment in ("sensitivity", "corruption"):
            rows.append(_row(experiment, f"{experiment}_summary", f"{experiment}_summary", 0.0, light_cost))
        rows.append(_row(experiment, "plot", f"plot/{experiment}", 0.0, light_cost,
                         figures=len(experiments.get(experiment).FIGURES)))
    rows.append(_row("(all)", "effective_config", "effective_config", 0.0, light_cost))
    if "measures" in config:
        from .measures import jobs as measures_jobs

        if measures_jobs.measured_checkpoints(config):
            rows.append(_row("measures", "measures_table", "measures_table", 0.0, light_cost))
            figures = 3 if "sensitivity" in measures_jobs.measured_experiments(config) else 2  # ranking counted as one
            rows += [_row("measures", "plot", f"plot/measures{i}", 0.0, light_cost) for i in range(figures)]
        if measures_jobs.landscape_checkpoints(config):
            rows += [_row("measures", "plot", f"plot/landscape_{k}", 0.0, light_cost) for k in ("1d", "2d")]
    return rows


def estimate_plan(
    config: dict, step_time: StepTime, eval_time: EvalTime, point_time: PointTime, fixed_cost: float,
    light_cost: float | None = None, n_test: int | None = None,
) -> list[dict]:
    """Every job `snakemake` would run for this config from scratch, with its estimate.

    Light jobs (no torch work) cost `light_cost`, by default LIGHT_JOB_S or the fixed cost if lower
    (a warm job starts faster than a fresh Python imports pandas)."""
    if light_cost is None:
        light_cost = min(fixed_cost, LIGHT_JOB_S)
    if n_test is None:
        n_test = test_split_size(config)
    configs = [cfg for experiment in plan.EXPERIMENTS for cfg in plan.planned_configs(config, experiment)]
    return (estimate_runs(configs, step_time, eval_time, fixed_cost, n_test)
            + estimate_measures(config, eval_time, point_time, fixed_cost, n_test)
            + estimate_flatness(config, step_time, eval_time, fixed_cost, n_test)
            + estimate_light_jobs(config, fixed_cost, light_cost))


def critical_path(rows: Sequence[dict]) -> float:
    """The longest job of each stage added up: subset -> training -> measure -> tables -> figures."""
    longest: dict[int, float] = {}
    for row in rows:
        stage = STAGES.get(row["rule"], 0)
        longest[stage] = max(longest.get(stage, 0.0), row["total_s"])
    return sum(longest.values())


def summarize(rows: Sequence[dict], parallel: int) -> dict:
    """Per experiment and in all: jobs, job time (sum), longest job, critical path, and the wall time
    max(critical path, job time / parallel) with `parallel` jobs at a time."""
    parallel = max(1, int(parallel))
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["experiment"], []).append(row)

    def stats(group: Sequence[dict], critical: float) -> dict:
        job_s = sum(r["total_s"] for r in group)
        return {"jobs": len(group), "job_s": job_s, "longest_s": max((r["total_s"] for r in group), default=0.0),
                "critical_s": critical, "wall_s": max(critical, job_s / parallel),
                "upper_bound": any(r["upper_bound"] for r in group)}

    chains: dict[str, list[dict]] = {}
    for row in rows:  # a measure of a checkpoint waits for its training: same chain
        chains.setdefault(row.get("chain", row["experiment"]), []).append(row)
    experiments = {name: stats(group, critical_path(group)) for name, group in groups.items()}
    crit = max((critical_path(chain) for chain in chains.values()), default=0.0)
    return {"parallel": parallel, "experiments": experiments, "total": stats(rows, crit)}


def parallel_jobs(cores: int, train_threads: int) -> int:
    return max(1, int(cores) // max(1, int(train_threads)))


def test_split_size(config: dict) -> int:
    from .idx import split_size

    try:
        return split_size(config["data_root"], "test") or MNIST_TEST_IMAGES
    except Exception:  # an unreadable file is check-mnist's business, not the estimate's
        return MNIST_TEST_IMAGES


# ---------------------------------------------------------------- from calibrations to time functions


def forward_macs(arch: str, width: int | None) -> int:
    """Multiply-accumulates of one image's forward pass (bench/flops.py counts them from the layers)."""
    if arch == "deep_cnn":
        return 26 * 26 * 16 * 9 + 24 * 24 * 32 * 16 * 9 + 22 * 22 * 64 * 32 * 9 + 64 * 22 * 22 * 128 + 128 * 10
    if arch == "width_cnn":
        return 26 * 26 * width * 9 + 26 * 26 * width * width + width * 10
    if arch == "shallow_cnn":
        return 26 * 26 * 16 * 9 + 16 * 26 * 26 * 10
    raise ValueError(f"unknown architecture {arch!r}")


def _interp(xs: Sequence[float], ys: Sequence[float], x: float, extrapolate: bool = False) -> float:
    """Piecewise-linear y(x) through sorted points; outside them clamped, or extended along the end segment."""
    if len(xs) == 1:
        return ys[0]
    if not extrapolate and (x <= xs[0] or x >= xs[-1]):
        return ys[0] if x <= xs[0] else ys[-1]
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return max(y0 + (y1 - y0) * (x - x0) / (x1 - x0), 0.0)


class Timing:
    """step_time, eval_time and point_time from calibration dicts (`calibrate`'s, or `coarse_calibrations`).

    Between calibrated batch sizes the per-sample step time is interpolated in log2(batch size)
    (clamped outside); between calibrated widths of width_cnn every time is interpolated linearly
    in the forward FLOPs (extended along the end segment outside).
    """

    def __init__(self, calibrations: Sequence[dict]):
        self.by_arch: dict[str, list[dict]] = {}
        for cal in calibrations:
            self.by_arch.setdefault(cal["arch"], []).append(cal)
        for cals in self.by_arch.values():
            cals.sort(key=lambda c: c["width"] or 0)

    def _across_widths(self, arch: str, width: int | None, value: Callable[[dict], float]) -> float:
        cals = self.by_arch.get(arch)
        if not cals:
            raise KeyError(f"no calibration for {arch}")
        if len(cals) == 1 or width is None:
            return value(cals[0])
        xs = [forward_macs(arch, c["width"]) for c in cals]
        return _interp(xs, [value(c) for c in cals], forward_macs(arch, width), extrapolate=True)

    def step_time(self, arch: str, width: int | None, batch_size: int) -> float:
        def per_sample(cal: dict) -> float:
            batches = sorted(cal["step_s"])
            return _interp([math.log2(b) for b in batches], [cal["step_s"][b] / b for b in batches], math.log2(batch_size))

        return batch_size * self._across_widths(arch, width, per_sample)

    def eval_time(self, arch: str, width: int | None) -> float:
        return self._across_widths(arch, width, lambda c: c["eval_s"])

    def point_time(self, arch: str, width: int | None) -> float:
        return self._across_widths(arch, width, lambda c: c["point_s"] if c.get("point_s") is not None else POINT_OVER_EVAL * c["eval_s"])


def coarse_calibrations() -> list[dict]:
    """The reference machine's throughputs (COARSE_*) in `calibrate`'s format; no measurement."""
    cals = []
    for (arch, width), rates in COARSE_SAMPLES_PER_S.items():
        point = COARSE_POINTS_PER_S.get((arch, width))
        cals.append({"arch": arch, "width": width, "device": "cpu", "threads": 1, "precision": "fp32", "source": "coarse",
                     "step_s": {b: b / r for b, r in rates.items()}, "eval_s": 1.0 / COARSE_EVAL_IMAGES_PER_S[(arch, width)],
                     "point_s": 1.0 / point if point else None, "seconds": 0.0})
    return cals


# ---------------------------------------------------------------- measuring this machine

_CACHE: dict[tuple, dict] = {}  # calibrations of this process (in memory only)


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def calibrate(
    arch: str, batch_sizes: Sequence[int], threads: int, device: str, width: int | None = None,
    precision: str = "fp32", eval_batch_size: int = 1000, sensitivity: bool = False, target_s: float = 0.5,
) -> dict:
    """Time genlab's training step at each batch size, its evaluation, and optionally the sensitivity measure.

    Random data of MNIST's shapes, `threads` threads and genlab.device.configure's settings, as a
    job runs. Each batch size: one warm-up step (skipped on CPU when its slice shapes were already
    run: large batches are summed over slices of genlab.training.CPU_MICRO_BATCH), then as many
    steps as fit in about `target_s` (at least one) in one train_epoch call. Evaluation: one chunk
    of min(eval_batch_size, 512) images, after a warm-up pass. Sensitivity: 64 points.
    Returns {arch, width, device, threads, precision, step_s: {batch: s}, eval_s (per image),
    point_s (per point, or None), seconds (the calibration's own wall time)}. Cached in memory.
    """
    key = (arch, width, tuple(sorted(set(batch_sizes))), threads, device, precision, eval_batch_size, sensitivity, target_s)
    if key in _CACHE:
        return _CACHE[key]
    import torch

    from . import training
    from .data import Tensors
    from .device import configure, pick_device
    from .measures.sensitivity import jacobian_norms

    t_start = time.perf_counter()
    dev = pick_device(device)
    saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), torch.utils.deterministic.fill_uninitialized_memory)
    try:
        configure(threads, dev)
        g = torch.Generator().manual_seed(0)

        def data(n: int) -> Tensors:
            x = torch.rand(n, 1, 28, 28, generator=g).to(dev)
            y = torch.randint(0, 10, (n,), generator=g).to(dev)
            return Tensors(x, y, x[:1], y[:1])

        cfg0 = TrainConfig("calibration", arch, 0, arch, width, 1e-3, 1, 1, 1, 0, False, precision=precision)
        model = training.init_model(cfg0, dev)
        optimizer = training.make_optimizer(model, cfg0)
        micro = training.CPU_MICRO_BATCH if dev.type == "cpu" else None
        seen: set[int] = set()

        def steps(batch: int, n_steps: int) -> float:
            cfg = TrainConfig("calibration", arch, 0, arch, width, 1e-3, batch, 1, batch * n_steps, 0, False, precision=precision)
            d = data(batch * n_steps)
            _sync(dev)
            t0 = time.perf_counter()
            training.train_epoch(model, optimizer, d, cfg, 0)
            _sync(dev)
            return (time.perf_counter() - t0) / n_steps

        step_s = {}
        for batch in sorted(set(batch_sizes)):
            shapes = {batch} if micro is None or batch <= micro else {micro} | ({batch % micro} - {0})
            if not shapes <= seen:
                steps(batch, 1)  # warm-up: first-call allocations, kernel selection for these shapes
                seen |= shapes
            first = steps(batch, 1)
            more = min(63, int(target_s / max(first, 1e-6)) - 1)
            step_s[batch] = first if more < 1 else (first + more * steps(batch, more)) / (1 + more)

        n_eval = min(eval_batch_size, 512)
        ev = data(n_eval)
        training.evaluate(model, ev.x_train, ev.y_train, eval_batch_size, precision)  # warm-up
        _sync(dev)
        t0 = time.perf_counter()
        training.evaluate(model, ev.x_train, ev.y_train, eval_batch_size, precision)
        _sync(dev)
        eval_s = (time.perf_counter() - t0) / n_eval

        point_s = None
        if sensitivity:
            x = ev.x_train[:64]
            jacobian_norms(model, x[:8])  # warm-up
            _sync(dev)
            t0 = time.perf_counter()
            jacobian_norms(model, x)
            _sync(dev)
            point_s = (time.perf_counter() - t0) / len(x)
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
        torch.utils.deterministic.fill_uninitialized_memory = saved[3]
    result = {"arch": arch, "width": width, "device": dev.type, "threads": threads, "precision": precision, "source": "measured",
              "step_s": step_s, "eval_s": eval_s, "point_s": point_s, "seconds": time.perf_counter() - t_start}
    _CACHE[key] = result
    return result


def calibration_widths(widths: Sequence[int]) -> list[int]:
    """width_cnn is calibrated at its smallest, middle and largest width; the others by FLOP interpolation."""
    ws = sorted(set(widths))
    return sorted({ws[0], ws[len(ws) // 2], ws[-1]})


def needed(config: dict) -> dict[tuple[str, int | None], set[int]]:
    """(arch, width) -> batch sizes the planned training runs use."""
    wanted: dict[tuple[str, int | None], set[int]] = {}
    for experiment in plan.EXPERIMENTS:
        for cfg in plan.planned_configs(config, experiment):
            wanted.setdefault((cfg.arch, cfg.width), set()).add(cfg.batch_size)
    if "measures" in config:  # a gradient pass of a measure is timed as a step at batch 128
        from .measures import jobs as measures_jobs

        for experiment, run, seed in measures_jobs.measured_checkpoints(config):
            cfg = plan.train_config(config, experiment, run, seed)
            wanted[(cfg.arch, cfg.width)].add(128)
    return wanted


def calibrate_plan(config: dict, device: str, threads: int, calibrate_fn: Callable | None = None) -> list[dict]:
    """Calibrations covering every (arch, width, batch size) of the config's runs, width_cnn at calibration_widths."""
    calibrate_fn = calibrate_fn or calibrate
    wanted = needed(config)
    by_arch: dict[str, dict[int | None, set[int]]] = {}
    for (arch, width), batches in wanted.items():
        by_arch.setdefault(arch, {})[width] = batches
    cals = []
    for arch, widths in by_arch.items():
        if arch == "width_cnn":
            batches = set().union(*widths.values())
            picked = [(w, batches) for w in calibration_widths(list(widths))]
        else:
            picked = list(widths.items())
        for width, batches in picked:
            cals.append(calibrate_fn(arch, sorted(batches), threads, device, width=width, precision=config["precision"],
                                     eval_batch_size=config["eval_batch_size"], sensitivity=arch == "shallow_cnn"))
    return cals


def measure_fixed_cost() -> tuple[float, float]:
    """(fixed cost per job, of which measured import time): `python -c "import genlab.jobs"` in a fresh
    process (what every training job imports: torch, genlab), plus JOB_OVERHEAD_S."""
    path = [str(REPO / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import genlab.jobs"], check=True, env=env, capture_output=True)
    imports = time.perf_counter() - t0
    return imports + JOB_OVERHEAD_S, imports


# ---------------------------------------------------------------- text


def duration(seconds: float) -> str:
    """42 s, 3 min 20 s, 2 h 05 min, 1 day 4 h, 12 days 3 h."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < DAY_S:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    days = s // 86_400
    return f"{days} day{'s' if days > 1 else ''} {s % 86_400 // 3600} h"


def _presets_hint() -> str:
    extra = " (or presets/cpu_hour.yaml)" if (REPO / "presets/cpu_hour.yaml").is_file() else ""
    return f"try presets/quick.yaml{extra}"


def total_line(summary: dict, device: str, prefix: str | None = None) -> str:
    """The one-line total: wall time, jobs at once, job time, longest job, and the advice past a day."""
    total = summary["total"]
    where = "this CPU" if device == "cpu" else "this GPU"
    prefix = prefix or f"total on {where}:"
    line = (f"{prefix} about {duration(total['wall_s'])} for {total['jobs']} jobs"
            f" ({summary['parallel']} at a time; {duration(total['job_s'])} of job time,"
            f" longest job {duration(total['longest_s'])})")
    if total["upper_bound"]:
        line += "; an upper bound where runs stop early (fit, convergence)"
    if total["wall_s"] > DAY_S:
        line += f" -- more than a day on {where}: {_presets_hint()}"
    return line


def one_line_total(config: dict, cores: int) -> str:
    """A coarse one-line estimate for the workflow to print at start: no torch import, no timing (well
    under a second). Uses the reference machine's throughputs (COARSE_*), fp32, and WARM_JOB_S (or,
    with warm_jobs off, DEFAULT_FIXED_COST_S) per job; `genlab estimate` measures this machine instead."""
    timing = Timing(coarse_calibrations())
    fixed = WARM_JOB_S if config.get("warm_jobs") else DEFAULT_FIXED_COST_S
    rows = estimate_plan(config, timing.step_time, timing.eval_time, timing.point_time, fixed)
    summary = summarize(rows, parallel_jobs(cores, config["train_threads"]))
    return total_line(summary, "cpu", prefix="genlab: estimated (coarse: the reference machine's CPU rates; `genlab estimate` measures this one):")


# Subsets and provenance records take a fraction of a second and unblock everything after them.
UNBLOCKING_PRIORITY = 1_000_000


def priorities(config: dict) -> dict[tuple[str, str], int]:
    """Snakemake runs ready jobs of higher priority first: (rule, job) -> coarse seconds of work, a
    training's counting the job of its experiment that reads its checkpoint (interpolating A and B,
    a sensitivity measure), so no long chain starts late and runs alone at the end. Flatness
    measures are left out of a training's count: they are a target of their own, and count for
    themselves once their checkpoint is there."""
    timing = Timing(coarse_calibrations())
    rows = estimate_plan(config, timing.step_time, timing.eval_time, timing.point_time, 0.0)
    after: dict[str, float] = {}  # training job -> the longest job that reads its checkpoint
    for row in rows:
        if row["rule"] == "interpolate":
            seed = row["job"].rsplit("/", 1)[1]
            consumers = [f"interpolation/{run}/{seed}" for run in plan.run_names(config, "interpolation")]
        elif row["rule"] == "sensitivity_measure":
            consumers = [row["job"]]
        else:
            continue
        for job in consumers:
            after[job] = max(after.get(job, 0.0), row["work_s"])
    return {(row["rule"], row["job"]): int(row["work_s"] + (after.get(row["job"], 0.0) if row["rule"] == "train" else 0.0))
            for row in rows}


def start_line(config: dict, cores: int | None) -> str:
    """What the workflow prints when it starts; an estimate that fails says so instead of stopping the run."""
    try:
        return one_line_total(config, int(cores or 1))
    except Exception as exc:  # noqa: BLE001 - an estimate must never stop a run
        return f"genlab: no estimate ({type(exc).__name__}: {exc})"


def table(rows: Sequence[dict], summary: dict) -> list[str]:
    lines = [f"{'experiment':<15}{'jobs':>5}  {'job time':>14}  {'longest job':>14}  {'critical path':>14}"]
    for name, s in summary["experiments"].items():
        note = ("  upper bound: Lanczos and ascent counted at their max steps" if name == "measures" else
                "  upper bound: runs stop once they fit, counted at their max epochs") if s["upper_bound"] else ""
        lines.append(f"{name:<15}{s['jobs']:>5}  {duration(s['job_s']):>14}  {duration(s['longest_s']):>14}"
                     f"  {duration(s['critical_s']):>14}{note}")
    return lines


def calibration_lines(cals: Sequence[dict]) -> list[str]:
    lines = []
    for cal in cals:
        name = cal["arch"] + (f" w{cal['width']}" if cal["width"] else "")
        steps = ", ".join(f"b{b} {s * 1e3:.1f} ms" for b, s in sorted(cal["step_s"].items()))
        point = f"; sensitivity {cal['point_s'] * 1e3:.2f} ms/point" if cal.get("point_s") else ""
        lines.append(f"  {name:<14} step {steps}; eval {cal['eval_s'] * 1e6:.0f} us/image{point}")
    return lines


def job_lines(rows: Sequence[dict]) -> list[str]:
    lines = []
    for r in rows:
        if r["rule"] == "train":
            what = (f"{r['epochs']} ep x {r['steps_per_epoch']} steps x {r['step_s'] * 1e3:.1f} ms"
                    f" + {r['evaluated_epochs']} evals x {r['eval_images']} images")
        elif r["rule"] == "interpolate":
            what = f"{r['alphas']} alphas x {r['eval_images']} images"
        elif r["rule"] == "sensitivity_measure":
            what = f"{r['n_points']} points"
        elif r["rule"] == "measure":
            what = f"flatness measures over {r['n_points']} images"
        elif r["rule"] == "landscape":
            what = f"{r['points']} points x {r['eval_images']} images"
        else:
            continue
        lines.append(f"  {r['job']:<36}{duration(r['total_s']):>14}  {what}{'  (upper bound)' if r['upper_bound'] else ''}")
    return lines


def resolve_device(requested: str) -> str:
    if requested in ("cpu", "cuda"):
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_cli(config: dict, device: str, cores: int, coarse: bool = False, fixed_cost: float | None = None,
            per_job: bool = False, print_=print) -> dict:
    """`genlab estimate`: calibrate (or not), estimate every job, print the table and the total line."""
    threads = config["train_threads"]
    parallel = parallel_jobs(cores, threads)
    print_(f"genlab estimate: device {device}, {config['precision']}, {threads} thread(s) per job,"
           f" {cores} core(s): {parallel} job(s) at a time")
    t0 = time.perf_counter()
    if coarse:
        cals = coarse_calibrations()
        print_("throughputs: the reference machine's (coarse, not measured here)")
    else:
        cals = calibrate_plan(config, device, threads)
        print_(f"calibrated on this machine in {time.perf_counter() - t0:.0f} s:")
    for line in calibration_lines(cals):
        print_(line)
    if fixed_cost is None:
        if config.get("warm_jobs"):
            fixed_cost = WARM_JOB_S
            print_(f"fixed cost per job: {fixed_cost:.1f} s (warm jobs, as bench/e2e.py measured; a local run's"
                   " jobs fork from one process that imported torch once)")
        elif coarse:
            fixed_cost = DEFAULT_FIXED_COST_S
            print_(f"fixed cost per job: {fixed_cost:.1f} s (default)")
        else:
            fixed_cost, imports = measure_fixed_cost()
            print_(f"fixed cost per job: {fixed_cost:.1f} s (python + imports {imports:.1f} s, measured;"
                   f" + {JOB_OVERHEAD_S:.1f} s Snakemake, data and checkpoint)")
    else:
        print_(f"fixed cost per job: {fixed_cost:.1f} s (given)")
    timing = Timing(cals)
    rows = estimate_plan(config, timing.step_time, timing.eval_time, timing.point_time, fixed_cost)
    summary = summarize(rows, parallel)
    if per_job:
        for line in job_lines(rows):
            print_(line)
    for line in table(rows, summary):
        print_(line)
    if device == "cuda" and parallel > 1:
        print_(f"note: the {parallel} jobs at a time share the GPU; assumed not to slow each other down")
    print_(total_line(summary, device))
    return {"rows": rows, "summary": summary, "calibrations": cals, "fixed_cost": fixed_cost}
