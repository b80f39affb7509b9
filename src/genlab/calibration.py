"""Measure this machine: seconds per training step, evaluated image and Jacobian point of genlab's own code.

`calibrate` times genlab.training.train_epoch, genlab.training.evaluate and
genlab.measures.jacobian.jacobian_norms on random data of MNIST's shapes, with the thread count and
settings of a job (genlab.device.configure); `calibrate_plan` covers every (arch, width, batch size)
a config trains. Their results feed genlab.rates.Timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import experiments, plan
from .config import WIDTH_ARCHS, TrainConfig
from .cost import JOB_OVERHEAD_S

REPO = Path(__file__).resolve().parents[2]

_CACHE: dict[tuple, dict] = {}  # calibrations of this process (in memory only)


def _sync(device) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def calibrate(
    arch: str, batch_sizes: Sequence[int], threads: int, device: str, width: int | None = None,
    precision: str = "fp32", eval_batch_size: int = 1000, jacobian: bool = False, target_s: float = 0.5,
    depth: int | None = None,
) -> dict:
    """Time genlab's training step at each batch size, its evaluation, and optionally the input-output Jacobian.

    Random data of MNIST's shapes, `threads` threads and genlab.device.configure's settings, as a
    job runs. Each batch size: one warm-up step (skipped on CPU when its slice shapes were already
    run: large batches are summed over slices of genlab.training.CPU_MICRO_BATCH), then as many
    steps as fit in about `target_s` (at least one) in one train_epoch call. Evaluation: one chunk
    of min(eval_batch_size, 512) images, after a warm-up pass. Sensitivity: 64 points.
    `depth`: zoo_cnn's (its dropout is left at 0: dropout costs little). Returns {arch, width, depth, device,
    threads, precision, step_s: {batch: s}, eval_s (per image),
    point_s (per point, or None), seconds (the calibration's own wall time)}. Cached in memory.
    """
    key = (arch, width, depth, tuple(sorted(set(batch_sizes))), threads, device, precision, eval_batch_size, jacobian, target_s)
    if key in _CACHE:
        return _CACHE[key]
    import torch

    from . import training
    from .data import Tensors
    from .device import configure, pick_device
    from .measures.jacobian import jacobian_norms

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

        cfg0 = TrainConfig("calibration", arch, 0, arch, width, 1e-3, 1, 1, 1, 0, False, precision=precision, depth=depth)
        model = training.init_model(cfg0, dev)
        optimizer = training.make_optimizer(model, cfg0)
        micro = training.CPU_MICRO_BATCH if dev.type == "cpu" else None
        seen: set[int] = set()

        def steps(batch: int, n_steps: int) -> float:
            cfg = TrainConfig("calibration", arch, 0, arch, width, 1e-3, batch, 1, batch * n_steps, 0, False, precision=precision,
                              depth=depth)
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
        if jacobian:
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
    result = {"arch": arch, "width": width, "depth": depth, "device": dev.type, "threads": threads, "precision": precision, "source": "measured",
              "step_s": step_s, "eval_s": eval_s, "point_s": point_s, "seconds": time.perf_counter() - t_start}
    _CACHE[key] = result
    return result


def calibration_widths(widths: Sequence[int]) -> list[int]:
    """An architecture with a width (width_cnn, fc) is calibrated at its smallest, middle and largest width;
    the others by interpolating in FLOPs."""
    ws = sorted(set(widths))
    return sorted({ws[0], ws[len(ws) // 2], ws[-1]})


def needed(config: dict) -> dict[tuple[str, int | None, int | None], set[int]]:
    """(arch, width, depth) -> batch sizes the planned training runs use."""
    wanted: dict[tuple[str, int | None, int | None], set[int]] = {}
    for experiment in experiments.chosen(config):
        for cfg in plan.planned_configs(config, experiment):
            wanted.setdefault((cfg.arch, cfg.width, cfg.depth), set()).add(cfg.batch_size)
    from .measures import plan as measure_plan

    for experiment, run, seed in measure_plan.measured_checkpoints(config):  # a measure's gradient: a step at batch 128
        cfg = plan.train_config(config, experiment, run, seed)
        wanted[(cfg.arch, cfg.width, cfg.depth)].add(128)
    return wanted


def calibration_shapes(arch: str, shapes: Sequence[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """zoo_cnn's (width, depth) shapes calibrated: the cheapest, the middle and the dearest in forward FLOPs."""
    from .rates import forward_macs

    ordered = sorted(set(shapes), key=lambda s: (forward_macs(arch, *s), s))
    return sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]}, key=lambda s: forward_macs(arch, *s))


def point_archs(config: dict) -> set[str]:
    """Architectures whose Jacobian points some chosen experiment prices (its module's POINT_ARCHS)."""
    return {arch for name in experiments.chosen(config) for arch in getattr(experiments.get(name), "POINT_ARCHS", ())}


def calibrate_plan(config: dict, device: str, threads: int, calibrate_fn: Callable | None = None) -> list[dict]:
    """Calibrations covering every (arch, width, batch size) of the config's runs, width archs at
    calibration_widths, zoo_cnn at calibration_shapes (the rest interpolated in FLOPs by genlab.rates)."""
    calibrate_fn = calibrate_fn or calibrate
    wanted = needed(config)
    by_arch: dict[str, dict[tuple[int | None, int | None], set[int]]] = {}
    for (arch, width, depth), batches in wanted.items():
        by_arch.setdefault(arch, {})[(width, depth)] = batches
    cals = []
    for arch, shapes in by_arch.items():
        batches = set().union(*shapes.values())
        if arch in WIDTH_ARCHS:
            picked = [((w, None), batches) for w in calibration_widths([w for w, _ in shapes])]
        elif arch == "zoo_cnn":
            picked = [(shape, batches) for shape in calibration_shapes(arch, list(shapes))]
        else:
            picked = list(shapes.items())
        for (width, depth), batches in picked:
            # depth only where there is one: calibrate functions of width alone keep working.
            extra = {} if depth is None else {"depth": depth}
            cals.append(calibrate_fn(arch, sorted(batches), threads, device, width=width, precision=config["precision"],
                                     eval_batch_size=config["eval_batch_size"], jacobian=arch in point_archs(config), **extra))
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
