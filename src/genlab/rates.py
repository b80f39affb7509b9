"""Time functions of the cost model: seconds per training step, evaluated image and Jacobian point.

A `Timing` is built from calibrations (genlab.calibration measures this machine) or from the
coarse rates below (the reference machine's, no measurement). Torch-free: the workflow's parse
step uses it for priorities and its start-of-run line.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

# Coarse throughputs, fp32, one thread, measured by bench/run.py on the reference machine
# (2-core Xeon, Sapphire Rapids class, torch 2.14 CPU build; README, Performance):
# training samples/s by (arch, width) and batch size (each includes a small per-epoch
# evaluation, so they slightly underestimate the training rate), evaluation images/s
# (deep_cnn: 2000 images per interpolated point at 0.67 points/s; width_cnn and shallow_cnn:
# assumed three times their training rate at batch 128, a forward pass being a third of a step),
# and input-output Jacobian points/s (shallow_cnn, 1161).
COARSE_SAMPLES_PER_S = {
    ("deep_cnn", None): {64: 552.0, 128: 538.0, 1024: 378.0},
    ("width_cnn", 2): {128: 21898.0},
    ("width_cnn", 20): {128: 5564.0},
    ("shallow_cnn", None): {32: 3402.0, 1024: 10144.0},
    ("fc", 8): {128: 226000.0},  # fc: genlab.calibration.calibrate on the reference machine (loaded), not bench/run.py
    ("fc", 512): {128: 52000.0},
}
COARSE_EVAL_IMAGES_PER_S = {("deep_cnn", None): 1340.0, ("width_cnn", 2): 65000.0, ("width_cnn", 20): 16700.0,
                            ("shallow_cnn", None): 30000.0, ("fc", 8): 1.0e6, ("fc", 512): 1.8e5}
COARSE_POINTS_PER_S = {("shallow_cnn", None): 1161.0}
# zoo_cnn at (width, depth): (training samples/s at batch 128, evaluation images/s), measured by
# genlab.calibration.calibrate with one thread on the reference machine while loaded by other work.
COARSE_ZOO = {(4, 1): (27000.0, 24000.0), (32, 4): (540.0, 980.0)}
POINT_OVER_EVAL = 26.0  # Jacobian point / evaluated image, shallow_cnn: for an arch without a measured rate

def forward_macs(arch: str, width: int | None, depth: int | None = None) -> int:
    """Multiply-accumulates of one image's forward pass (bench/flops.py counts them from the layers)."""
    if arch == "zoo_cnn":  # 28x28 maps (padding 1): a first conv from 1 channel, depth - 1 from w, dense 784 w -> 10
        return 28 * 28 * width * 9 + (depth - 1) * 28 * 28 * width * width * 9 + 28 * 28 * width * 10
    if arch == "deep_cnn":
        return 26 * 26 * 16 * 9 + 24 * 24 * 32 * 16 * 9 + 22 * 22 * 64 * 32 * 9 + 64 * 22 * 22 * 128 + 128 * 10
    if arch == "width_cnn":
        return 26 * 26 * width * 9 + 26 * 26 * width * width + width * 10
    if arch == "shallow_cnn":
        return 26 * 26 * 16 * 9 + 16 * 26 * 26 * 10
    if arch == "fc":
        return 28 * 28 * width + width * 10
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
    (clamped outside); between calibrated shapes of an arch with a width (width_cnn, fc: widths) and
    zoo_cnn (widths and depths: a calibration's optional "depth") every time is interpolated linearly
    in the forward FLOPs (extended along the end segment outside).
    """

    def __init__(self, calibrations: Sequence[dict]):
        self.by_arch: dict[str, list[dict]] = {}
        for cal in calibrations:
            self.by_arch.setdefault(cal["arch"], []).append(cal)
        for arch, cals in self.by_arch.items():
            cals.sort(key=lambda c: forward_macs(arch, c["width"], c.get("depth")) if c["width"] else 0)

    def _across_widths(self, arch: str, width: int | None, value: Callable[[dict], float], depth: int | None = None) -> float:
        cals = self.by_arch.get(arch)
        if not cals:
            raise KeyError(f"no calibration for {arch}")
        if len(cals) == 1 or width is None:
            return value(cals[0])
        # Shapes with equal FLOPs (zoo_cnn) would make a vertical segment: the first of each is kept.
        by_macs = {}
        for c in cals:
            by_macs.setdefault(forward_macs(arch, c["width"], c.get("depth")), c)
        xs = sorted(by_macs)
        return _interp(xs, [value(by_macs[x]) for x in xs], forward_macs(arch, width, depth), extrapolate=True)

    def step_time(self, arch: str, width: int | None, batch_size: int, depth: int | None = None) -> float:
        def per_sample(cal: dict) -> float:
            batches = sorted(cal["step_s"])
            return _interp([math.log2(b) for b in batches], [cal["step_s"][b] / b for b in batches], math.log2(batch_size))

        return batch_size * self._across_widths(arch, width, per_sample, depth)

    def eval_time(self, arch: str, width: int | None, depth: int | None = None) -> float:
        return self._across_widths(arch, width, lambda c: c["eval_s"], depth)

    def point_time(self, arch: str, width: int | None, depth: int | None = None) -> float:
        return self._across_widths(
            arch, width, lambda c: c["point_s"] if c.get("point_s") is not None else POINT_OVER_EVAL * c["eval_s"], depth)


def coarse_calibrations() -> list[dict]:
    """The reference machine's throughputs (COARSE_*) in `calibrate`'s format; no measurement."""
    cals = []
    for (arch, width), rates in COARSE_SAMPLES_PER_S.items():
        point = COARSE_POINTS_PER_S.get((arch, width))
        cals.append({"arch": arch, "width": width, "device": "cpu", "threads": 1, "precision": "fp32", "source": "coarse",
                     "step_s": {b: b / r for b, r in rates.items()}, "eval_s": 1.0 / COARSE_EVAL_IMAGES_PER_S[(arch, width)],
                     "point_s": 1.0 / point if point else None, "seconds": 0.0})
    for (width, depth), (samples_s, eval_images_s) in COARSE_ZOO.items():
        cals.append({"arch": "zoo_cnn", "width": width, "depth": depth, "device": "cpu", "threads": 1, "precision": "fp32",
                     "source": "coarse", "step_s": {128: 128 / samples_s}, "eval_s": 1.0 / eval_images_s,
                     "point_s": None, "seconds": 0.0})
    return cals
