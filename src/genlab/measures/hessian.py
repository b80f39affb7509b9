"""Measure kind "hessian": the Hessian's extreme eigenvalues (Lanczos) and its trace (deflated Hutchinson).

Measure names:

    hessian_eig1 .. hessian_eig<k>   the k largest eigenvalues; steps = Hessian-vector products;
    hessian_eig_min                  each with its own error_bound (the Ritz residual: some
                                     eigenvalue lies within it) and converged (error_bound <=
                                     tol * |value|: the value is right to relative accuracy tol)
    hessian_trace                    Hutchinson deflated by the Lanczos basis (probes > 0), with
                                     its standard error; converged and error_bound empty: the
                                     estimate is unbiased whether or not Lanczos converged, its
                                     whole uncertainty is std_error
    hessian_trace_<layer>            per layer (conv1, dense2, ...: genlab.measures.loss.layer_names);
                                     they add up to hessian_trace

config key  measures.hessian {k, iters, probes, tol}; numerics in genlab.measures.spectrum.
"""

from __future__ import annotations

from ..errors import GenlabError
from .rows import SHARPNESS_FAMILY, row

NAME = "hessian"
FAMILY = SHARPNESS_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ("hessian",)
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = True


def check(section: dict, config: dict) -> None:
    options = section["hessian"]
    if options["iters"] < options["k"] + 1:
        raise GenlabError(
            f"config key measures.hessian.iters: {options['iters']!r} must be an integer >= {options['k'] + 1} "
            "(hessian.k + 1: Lanczos needs k + 1 steps for the k largest and the smallest eigenvalue)"
        )


def run(model, data, context) -> list[dict]:
    from .spectrum import hessian_spectrum, hutchinson_trace

    x, y = data
    n = len(x)
    options = context.options["hessian"]
    trace = bool(options["probes"])  # the trace reuses the Lanczos basis: keep it until then
    spectrum = hessian_spectrum(
        model, x, y, options["k"], options["iters"], options["tol"], context.seed, context.chunk_size, keep_basis=trace
    )
    steps = spectrum["steps"]
    top = zip(spectrum["top"], spectrum["top_converged"], spectrum["top_error_bound"])
    rows = [
        row(f"hessian_eig{i}", value, n, steps=steps, converged=converged, error_bound=bound)
        for i, (value, converged, bound) in enumerate(top, start=1)
    ]
    rows.append(row("hessian_eig_min", spectrum["min"], n, steps=steps, converged=spectrum["min_converged"],
                    error_bound=spectrum["min_error_bound"]))
    if trace:
        found = hutchinson_trace(model, x, y, options["probes"], context.seed, context.chunk_size, deflate=spectrum)
        rows.append(row("hessian_trace", found["trace"], n, std_error=found["std_error"]))
        for layer, value in found["per_layer"].items():
            rows.append(row(f"hessian_trace_{layer}", value, n, std_error=found["per_layer_std_error"][layer]))
    return rows


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """Lanczos at its maximum steps and every probe: one Hessian-vector product (2 grads) each, per image.

    The deflated trace does one product per probe, as plain Hutchinson does: the deflation's
    products are the Lanczos steps, counted once. Its projections (2 x iters x n_params flops
    per probe and chunk) are not counted: well under one product's cost.
    """
    options = section["hessian"]
    return section["n_points"] * (2 * (options["iters"] + options["probes"]) * grad_s)


def is_sharpness(measure_name: str) -> bool:
    return measure_name == "hessian_eig1"


def names(section: dict) -> list[str]:
    """Every name but the per-layer traces (their layers depend on the network)."""
    options = section["hessian"]
    found = [f"hessian_eig{i}" for i in range(1, options["k"] + 1)] + ["hessian_eig_min"]
    return found + (["hessian_trace"] if options["probes"] else [])
