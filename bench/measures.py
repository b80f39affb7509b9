"""Cost of the flatness measures (issue 11), for bench/run.py section 6.

For each network (ARCHS) a reduced count of each measure kind is timed with genlab's own code,
called as the workflow's measure and landscape jobs call it (genlab.measures.jobs: fp32 model in
eval mode, chunks of eval_batch_size, the job's threads and genlab.device.configure's settings),
and extrapolated linearly to the reference counts of config.yaml's `measures:` section:

    hvp          genlab.measures.loss.hvp over n points: Hessian-vector products per second
    lanczos      hessian_spectrum at k + 1 steps: per step = one HVP + the reorthogonalisation
                 against all earlier basis vectors; the latter grows with the step number, so it
                 is timed on its own (a projection on a small basis, per basis vector) and added
                 as c * iters (iters + 1) / 2; the rest is linear in steps
    hutchinson   hutchinson_trace at two probe counts p1 < p2: a fixed part (each chunk's
                 first-order graph, built once) + a part per probe (one double backward)
    keskar       keskar_sharpness at `keskar_steps` steps on one eps: steps + 1 gradients
                 (the start and each step), x len(keskar_eps)
    average      average_sharpness at `samples` draws on one sigma: samples + 1 evaluations
                 (the base loss and each draw), x len(average_sigma)
    landscape    landscape_1d and landscape_2d at a few points: one train + one test evaluation
                 per point, x (points_1d + points_2d^2)

Where n (or the landscape's image count) is below the reference (--tiny), times are also scaled
linearly in images. Lanczos and the ascent are counted at their maximum steps (upper bounds), as
genlab.cost counts them.

reference_cost then adds up every measured checkpoint and landscape of the reference config
(width_cnn widths between the measured ones interpolated linearly in forward FLOPs) and divides
by the reference training time from genlab.cost.training_jobs on this machine's step rates.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from genlab import calibration, cost, experiments, plan, rates
from genlab.config import TrainConfig
from genlab.data import Tensors
from genlab.device import configure
from genlab.measures import plan as measure_plan
from genlab.measures.loss import hvp, trainable
from genlab.measures.sharpness import average_sharpness, keskar_sharpness
from genlab.measures.spectrum import hessian_spectrum, hutchinson_trace
from genlab.measures.surface import filter_normalized_direction, landscape_1d, landscape_2d
from genlab.training import init_model

CPU = torch.device("cpu")
ARCHS = [("deep_cnn", None), ("width_cnn", 20), ("width_cnn", 2), ("shallow_cnn", None)]
KINDS = ("hessian", "keskar", "average_sharpness", "landscape")


@dataclass(frozen=True)
class Reduced:
    """What is actually timed, per network and repeat. n / land_n None: the reference size."""

    n: int | None  # points of hvp, Hessian, sharpness (reference: measures.n_points)
    land_n: int | None  # landscape train and test images each (reference: eval_train_size, eval_test_size)
    hvps: int  # hvp calls timed
    probes: tuple[int, int]  # the two Hutchinson probe counts
    keskar_steps: int  # ascent steps (< box_ascent's window of 10, so exactly this many)
    samples: int  # average-sharpness draws (>= 2)
    points: tuple[int, int, int]  # landscape: 1-D points, 2-D grid rows x columns
    repeats: int


FULL = Reduced(n=None, land_n=None, hvps=2, probes=(2, 4), keskar_steps=2, samples=2, points=(2, 1, 2), repeats=3)
TINY = Reduced(n=100, land_n=100, hvps=1, probes=(2, 3), keskar_steps=1, samples=2, points=(1, 1, 1), repeats=1)


def label(arch: str, width: int | None) -> str:
    return arch + (f" w{width}" if width else "")


def reference(config: dict) -> dict:
    """The reference counts, from a config checked by genlab.cli.check_config_files."""
    m = config["measures"]
    land = m["landscape"]
    return {
        "n_points": m["n_points"], "chunk": config["eval_batch_size"], "seed": m["seed"],
        "k": m["hessian"]["k"], "iters": m["hessian"]["iters"], "probes": m["hessian"]["probes"], "tol": m["hessian"]["tol"],
        "keskar_eps": list(m["keskar_eps"]), "keskar_steps": m["keskar_steps"], "keskar_lr": m["keskar_lr"],
        "average_sigma": list(m["average_sigma"]), "samples": m["samples"],
        "points_1d": land["points_1d"], "points_2d": land["points_2d"],
        "land_train": land["eval_train_size"], "land_test": land["eval_test_size"],
        "kinds": list(m["measures"]),
    }


def _timed(f, *a, **kw) -> float:
    t0 = time.perf_counter()
    f(*a, **kw)
    return time.perf_counter() - t0


def _reorth_per_vector(p: int, rows: int, generator: torch.Generator) -> float:
    """Seconds per basis vector of Lanczos' reorthogonalisation (twice, as genlab.measures.spectrum.lanczos does)."""
    basis = torch.randn(rows, p, generator=generator)  # (rows, P)
    w = torch.randn(p, generator=generator)

    def project(w):
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        return w

    project(w)  # warm-up
    return _timed(project, w) / rows


def time_arch(arch: str, width: int | None, data: Tensors, ref: dict, reduced: Reduced, threads: int) -> dict:
    """Median seconds of each reduced measurement on an untrained network (timing does not depend on the weights)."""
    configure(threads, CPU)  # what a measure job does: its threads, deterministic kernels, no NaN fill
    n = reduced.n or ref["n_points"]
    land_train = reduced.land_n or ref["land_train"] or n
    land_test = reduced.land_n or ref["land_test"] or n
    chunk = ref["chunk"]
    model = init_model(TrainConfig("bench", "measures", 0, arch, width, 1e-3, 128, 1, 1, 0, False), CPU).eval()
    _, params = trainable(model)
    p = sum(q.numel() for q in params)
    x, y = data.x_train[:n], data.y_train[:n]
    lx, ly, tx, ty = data.x_train[:land_train], data.y_train[:land_train], data.x_test[:land_test], data.y_test[:land_test]
    if len(x) < n or len(lx) < land_train or len(tx) < land_test:
        raise ValueError(f"bench data too small: {len(data.x_train)} train / {len(data.x_test)} test images")
    g = torch.Generator().manual_seed(0)
    v = [torch.randn(q.shape, generator=g) for q in params]
    d1, d2 = filter_normalized_direction(model, 0), filter_normalized_direction(model, 1)
    lanczos_steps = ref["k"] + 1
    p1, p2 = reduced.probes
    q1, r2, c2 = reduced.points
    ts_1d = [(i + 1) / (q1 + 1) for i in range(q1)]  # t != 0: a point that moves the weights, like all but one
    ts_r, ts_c = [0.5 + i / (2 * r2) for i in range(r2)], [-0.5 - i / (2 * c2) for i in range(c2)]
    hvp(model, x[:chunk], y[:chunk], v, chunk)  # warm-up: first-call allocations, kernel selection
    t = {k: [] for k in ("hvp", "lanczos", "reorth", "hutch1", "hutch2", "keskar", "average", "landscape")}
    steps = None
    for _ in range(reduced.repeats):  # each kind once per repeat, in rotation
        t["hvp"].append(_timed(lambda: [hvp(model, x, y, v, chunk) for _ in range(reduced.hvps)]) / reduced.hvps)
        t0 = time.perf_counter()
        steps = hessian_spectrum(model, x, y, ref["k"], lanczos_steps, ref["tol"], ref["seed"], chunk)["steps"]
        t["lanczos"].append(time.perf_counter() - t0)
        t["reorth"].append(_reorth_per_vector(p, lanczos_steps, g))
        t["hutch1"].append(_timed(hutchinson_trace, model, x, y, p1, ref["seed"], chunk))
        t["hutch2"].append(_timed(hutchinson_trace, model, x, y, p2, ref["seed"], chunk))
        t["keskar"].append(_timed(keskar_sharpness, model, x, y, ref["keskar_eps"][0], reduced.keskar_steps, ref["keskar_lr"], chunk))
        t["average"].append(_timed(average_sharpness, model, x, y, ref["average_sigma"][0], reduced.samples, ref["seed"], chunk))
        t0 = time.perf_counter()
        landscape_1d(model, lx, ly, tx, ty, d1, ts_1d, chunk)
        landscape_2d(model, lx, ly, tx, ty, d1, d2, ts_r, ts_c, chunk)
        t["landscape"].append(time.perf_counter() - t0)
    med = {k: statistics.median(vs) for k, vs in t.items()}
    return {"arch": arch, "width": width, "params": p, "n": n, "land_images": land_train + land_test, "chunk": chunk,
            "threads": threads, "repeats": reduced.repeats, "lanczos_steps": steps, "probes": (p1, p2),
            "keskar_steps": reduced.keskar_steps, "samples": reduced.samples, "landscape_points": q1 + r2 * c2,
            "seconds": med}


def extrapolate(m: dict, ref: dict) -> dict:
    """Per kind: the measured count and seconds, seconds per unit, reference count and extrapolated seconds."""
    s = m["seconds"]
    scale_n = ref["n_points"] / m["n"]  # linear in images where fewer than the reference were used (--tiny)
    land_ref = (ref["land_train"] or ref["n_points"]) + (ref["land_test"] or ref["n_points"])
    scale_land = land_ref / m["land_images"]
    iters, L = ref["iters"], m["lanczos_steps"]
    c = s["reorth"]
    base = max(s["lanczos"] - c * L * (L + 1) / 2, 0.0) / L  # per step: the HVP and the rest, linear in steps
    lanczos = iters * base * scale_n + c * iters * (iters + 1) / 2
    p1, p2 = m["probes"]
    per_probe = (s["hutch2"] - s["hutch1"]) / (p2 - p1)
    fixed = s["hutch1"] - per_probe * p1
    if not (per_probe > 0 and fixed >= 0):  # timing noise: no split, all of it per probe
        per_probe, fixed = s["hutch2"] / p2, 0.0
    hutch = (fixed + per_probe * ref["probes"]) * scale_n if ref["probes"] else 0.0
    grads = m["keskar_steps"] + 1
    evals = m["samples"] + 1
    points_ref = ref["points_1d"] + ref["points_2d"] ** 2
    rows = {
        "lanczos": dict(measured=f"{L} steps", measured_s=s["lanczos"], unit="step", unit_s=s["lanczos"] / L,
                        reference=f"{iters} steps", reference_s=lanczos),
        "hutchinson": dict(measured=f"{p1},{p2} probes", measured_s=s["hutch2"], unit="probe", unit_s=per_probe,
                           reference=f"{ref['probes']} probes", reference_s=hutch, fixed_s=fixed),
        "keskar": dict(measured=f"{grads} grads", measured_s=s["keskar"], unit="grad", unit_s=s["keskar"] / grads,
                       reference=f"{len(ref['keskar_eps'])} eps x {ref['keskar_steps'] + 1} grads",
                       reference_s=s["keskar"] / grads * len(ref["keskar_eps"]) * (ref["keskar_steps"] + 1) * scale_n),
        "average_sharpness": dict(measured=f"{evals} evals", measured_s=s["average"], unit="eval", unit_s=s["average"] / evals,
                                  reference=f"{len(ref['average_sigma'])} sigmas x {ref['samples'] + 1} evals",
                                  reference_s=s["average"] / evals * len(ref["average_sigma"]) * (ref["samples"] + 1) * scale_n),
        "landscape": dict(measured=f"{m['landscape_points']} points", measured_s=s["landscape"], unit="point",
                          unit_s=s["landscape"] / m["landscape_points"],
                          reference=f"{ref['points_1d']} + {ref['points_2d']}^2 points",
                          reference_s=s["landscape"] / m["landscape_points"] * points_ref * scale_land),
    }
    rows["hessian"] = dict(measured="the two above", measured_s=s["lanczos"] + s["hutch2"], unit="", unit_s=None,
                           reference=f"{iters} steps + {ref['probes']} probes", reference_s=lanczos + hutch)
    return {"scale_n": scale_n, "scale_land": scale_land, "eval_s": s["landscape"] / m["landscape_points"] / m["land_images"],
            "kinds": rows}


def _across_widths(per_width: dict, arch: str, width: int | None) -> float:
    """A measured value of (arch, width); width_cnn between measured widths linearly in forward FLOPs (as genlab.estimate)."""
    if width in per_width:
        return per_width[width]
    widths = sorted(per_width)
    xs = [rates.forward_macs(arch, w) for w in widths]
    return rates._interp(xs, [per_width[w] for w in widths], rates.forward_macs(arch, width), extrapolate=True)


def step_calibrations(training_rows: list[dict], eval_s: dict, threads: int, chunk: int, tiny: bool) -> list[dict]:
    """genlab.rates calibrations from section 1's genlab train-only rates at each (arch, width, batch) and this
    section's evaluation time per image; an (arch, width) section 1 did not train (--tiny) is calibrated by
    genlab.calibration.calibrate at batch 128."""
    step_s: dict = {}
    for r in training_rows:
        step_s.setdefault((r["arch"], r["width"]), {})[r["batch"]] = r["batch"] / r["train_only_samples_s"]
    cals = []
    for key, ev in eval_s.items():
        arch, width = key
        if key in step_s:
            source, steps = "bench section 1", step_s[key]
        else:
            cal = calibration.calibrate(arch, [128], threads, "cpu", width=width, eval_batch_size=chunk,
                                     target_s=0.2 if tiny else 0.5)
            source, steps = "genlab.calibration.calibrate", cal["step_s"]
        cals.append({"arch": arch, "width": width, "device": "cpu", "threads": threads, "precision": "fp32",
                     "source": source, "step_s": steps, "eval_s": ev, "point_s": None, "seconds": 0.0})
    return cals


def reference_cost(config: dict, ref: dict, extrapolated: dict, timing: rates.Timing) -> dict:
    """Every measured checkpoint and landscape of the reference config, and its training, on this machine's rates."""
    kinds = [k for k in ref["kinds"] if k in KINDS]
    per_arch: dict = {}
    for (arch, width), e in extrapolated.items():
        for kind, row in e["kinds"].items():
            per_arch.setdefault((arch, kind), {})[width] = row["reference_s"]
    by_kind = {k: 0.0 for k in (*kinds, "landscape")}
    model = {k: 0.0 for k in by_kind}  # genlab.estimate's flatness model on the same rates, for comparison
    by_experiment: dict = {}
    n = ref["n_points"]
    # Section 6 times the study's CNNs; experiments of other networks (double descent's fc, the zoo's
    # zoo_cnn) are left out of both sides of the ratio, and named.
    known = {arch for arch, _ in extrapolated}

    def timed(experiment: str) -> bool:
        return all(cfg.arch in known for cfg in plan.planned_configs(config, experiment))

    left_out = [e for e in experiments.chosen(config) if not timed(e)]
    checkpoints = [c for c in measure_plan.measured_checkpoints(config) if c[0] not in left_out]
    for experiment, run, seed in checkpoints:
        cfg = plan.train_config(config, experiment, run, seed)
        grad = timing.step_time(cfg.arch, cfg.width, 128) / 128
        for kind in kinds:
            s = _across_widths(per_arch[(cfg.arch, kind)], cfg.arch, cfg.width)
            by_kind[kind] += s
            by_experiment[experiment] = by_experiment.get(experiment, 0.0) + s
        if "hessian" in kinds:
            model["hessian"] += n * 2 * (ref["iters"] + ref["probes"]) * grad
        if "keskar" in kinds:
            model["keskar"] += n * len(ref["keskar_eps"]) * ref["keskar_steps"] * grad
        if "average_sharpness" in kinds:
            model["average_sharpness"] += n * len(ref["average_sigma"]) * (ref["samples"] + 1) * timing.eval_time(cfg.arch, cfg.width)
    n_test = cost.test_split_size(config)
    landscapes = measure_plan.landscape_checkpoints(config)
    for experiment, run, seed in landscapes:
        cfg = plan.train_config(config, experiment, run, seed)
        s = _across_widths(per_arch[(cfg.arch, "landscape")], cfg.arch, cfg.width)
        images = (ref["land_train"] or cfg.n_train) + (n_test if ref["land_test"] is None else ref["land_test"])
        s *= images / ((ref["land_train"] or n) + (ref["land_test"] or n))  # extrapolated for the reference sizes
        by_kind["landscape"] += s
        by_experiment["landscape"] = by_experiment.get("landscape", 0.0) + s
        model["landscape"] += (ref["points_1d"] + ref["points_2d"] ** 2) * images * timing.eval_time(cfg.arch, cfg.width)
    configs = [cfg for experiment in experiments.chosen(config) if experiment not in left_out
               for cfg in plan.planned_configs(config, experiment)]
    runs = cost.training_jobs(configs, cost.CostModel(timing, 0.0, 0.0, n_test))
    training_s = sum(r["work_s"] for r in runs)
    measures_s = sum(by_kind.values())
    counts: dict = {}
    for experiment, _, _ in checkpoints:
        counts[experiment] = counts.get(experiment, 0) + 1
    return {
        "checkpoints": len(checkpoints), "per_experiment_checkpoints": counts, "left_out": left_out,
        "landscapes": [f"{e}/{r}/seed{s}" for e, r, s in landscapes],
        "by_kind_s": by_kind, "by_experiment_s": by_experiment, "measures_s": measures_s, "model_by_kind_s": model,
        "model_measures_s": sum(model.values()), "training_runs": len(runs), "training_s": training_s,
        "training_steps_s": sum(r["train_s"] for r in runs), "training_eval_s": sum(r["eval_s"] for r in runs),
        "training_upper_bound": any(r["upper_bound"] for r in runs), "fraction": measures_s / training_s,
        "model_fraction": sum(model.values()) / training_s,
    }


def model_per_checkpoint(arch: str, width: int | None, ref: dict, timing: rates.Timing) -> dict:
    """genlab.estimate's flatness model for one checkpoint of (arch, width), per kind (seconds)."""
    n = ref["n_points"]
    grad = timing.step_time(arch, width, 128) / 128
    ev = timing.eval_time(arch, width)
    land = (ref["land_train"] or n) + (ref["land_test"] or n)
    hessian = n * 2 * (ref["iters"] + ref["probes"]) * grad
    return {"hessian": hessian, "keskar": n * len(ref["keskar_eps"]) * ref["keskar_steps"] * grad,
            "average_sharpness": n * len(ref["average_sigma"]) * (ref["samples"] + 1) * ev,
            "landscape": (ref["points_1d"] + ref["points_2d"] ** 2) * land * ev}

