"""One entry point per checkpoint: the flatness measures a spec asks for, as tidy rows.

Each row is {measure, value, std_error, n_points, steps, converged}, None where a key does
not apply. Measure names (see measure_suffix for <eps> and <sigma>):

    hessian_eig1 .. hessian_eig<k>   the k largest Hessian eigenvalues (Lanczos); steps =
    hessian_eig_min                  Hessian-vector products, converged = Lanczos converged
    hessian_trace                    Hutchinson estimate, with its standard error
    hessian_trace_<layer>            per layer (layer0, layer2, ...: hessian.layer_name)
    keskar_<eps>                     Keskar sharpness in percent; steps and converged of the ascent
    average_sharpness_<sigma>        E[L(theta + delta)] - L(theta), with its standard error
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import GenlabError
from .hessian import hessian_spectrum, hutchinson_trace
from .sharpness import average_sharpness, keskar_sharpness

MEASURE_KINDS = ("hessian", "keskar", "average_sharpness", "landscape")
COLUMNS = ["measure", "value", "std_error", "n_points", "steps", "converged"]

SPEC_KEYS = ("hessian", "keskar_eps", "keskar_steps", "keskar_lr", "average_sigma", "samples")
HESSIAN_KEYS = {"k": 3, "iters": 100, "probes": 100, "tol": 1e-6}


def measure_suffix(value: float) -> str:
    """The shortest decimal that reads back as the same float: Python's repr of float(value).

    1e-3 -> "0.001", 5e-4 -> "0.0005", 0.01 -> "0.01", 1e-5 -> "1e-05", 1 -> "1.0". The
    same number always gives the same name, and the name gives back the number.
    """
    return repr(float(value))


def _numbers(spec: dict, key: str) -> list[float]:
    values = spec[key]
    if not isinstance(values, (list, tuple)):
        values = [values]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise GenlabError(f"measure spec {key} must hold finite numbers >= 0, got {v!r}")
    return [float(v) for v in values]


def _row(measure: str, value: float, n_points: int, std_error=None, steps=None, converged=None) -> dict:
    return {
        "measure": measure,
        "value": value,
        "std_error": std_error,
        "n_points": n_points,
        "steps": steps,
        "converged": converged,
    }


def run_measures(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: dict, seed: int = 0, chunk_size: int = 1000
) -> list[dict]:
    """Compute every measure `spec` names on (x, y); rows in the order of the docstring above.

    spec keys (all optional): "hessian": {"k", "iters", "probes", "tol"} (defaults 3, 100,
    100, 1e-6; "probes": 0 skips the trace), "keskar_eps": list of eps, "keskar_steps"
    (default 100), "keskar_lr" (default 0.1), "average_sigma": list of sigma, "samples"
    (default 20). `seed` seeds the Lanczos start, the Hutchinson probes and the noise.
    """
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise GenlabError(f"unknown measure spec key {unknown[0]!r}, expected one of {', '.join(SPEC_KEYS)}")
    model.eval()
    n = len(x)
    rows: list[dict] = []
    if "hessian" in spec:
        options = spec["hessian"] or {}
        if not isinstance(options, dict):
            raise GenlabError(f"measure spec hessian must be a mapping of k, iters, probes, tol, got {options!r}")
        bad = sorted(set(options) - set(HESSIAN_KEYS))
        if bad:
            raise GenlabError(f"unknown measure spec key hessian.{bad[0]}, expected one of {', '.join(HESSIAN_KEYS)}")
        options = {**HESSIAN_KEYS, **options}
        spectrum = hessian_spectrum(model, x, y, options["k"], options["iters"], options["tol"], seed, chunk_size)
        steps, converged = spectrum["steps"], spectrum["converged"]
        for i, value in enumerate(spectrum["top"], start=1):
            rows.append(_row(f"hessian_eig{i}", value, n, steps=steps, converged=converged))
        rows.append(_row("hessian_eig_min", spectrum["min"], n, steps=steps, converged=converged))
        if options["probes"]:
            trace = hutchinson_trace(model, x, y, options["probes"], seed, chunk_size)
            rows.append(_row("hessian_trace", trace["trace"], n, std_error=trace["std_error"]))
            for layer, value in trace["per_layer"].items():
                rows.append(_row(f"hessian_trace_{layer}", value, n, std_error=trace["per_layer_std_error"][layer]))
    if "keskar_eps" in spec:
        steps, lr = spec.get("keskar_steps", 100), spec.get("keskar_lr", 0.1)
        for eps in _numbers(spec, "keskar_eps"):
            result = keskar_sharpness(model, x, y, eps, steps, lr, chunk_size)
            name = f"keskar_{measure_suffix(eps)}"
            rows.append(_row(name, result["value"], n, steps=result["steps"], converged=result["converged"]))
    if "average_sigma" in spec:
        samples = spec.get("samples", 20)
        for sigma in _numbers(spec, "average_sigma"):
            result = average_sharpness(model, x, y, sigma, samples, seed, chunk_size)
            name = f"average_sharpness_{measure_suffix(sigma)}"
            rows.append(_row(name, result["value"], n, std_error=result["std_error"]))
    return rows
