"""Measure kind "hessian": the Hessian's extreme eigenvalues (Lanczos) and its trace (Hutchinson).

Measure names:

    hessian_eig1 .. hessian_eig<k>   the k largest eigenvalues; steps = Hessian-vector
    hessian_eig_min                  products, converged = Lanczos converged
    hessian_trace                    Hutchinson estimate, with its standard error (probes > 0)
    hessian_trace_<layer>            per layer (layer0, layer2, ...: genlab.measures.loss.layer_name)

config key  measures.hessian {k, iters, probes, tol}; numerics in genlab.measures.spectrum.
"""

from __future__ import annotations

from ..errors import GenlabError
from .rows import row

NAME = "hessian"
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
    spectrum = hessian_spectrum(model, x, y, options["k"], options["iters"], options["tol"], context.seed, context.chunk_size)
    steps, converged = spectrum["steps"], spectrum["converged"]
    rows = [row(f"hessian_eig{i}", value, n, steps=steps, converged=converged) for i, value in enumerate(spectrum["top"], start=1)]
    rows.append(row("hessian_eig_min", spectrum["min"], n, steps=steps, converged=converged))
    if options["probes"]:
        trace = hutchinson_trace(model, x, y, options["probes"], context.seed, context.chunk_size)
        rows.append(row("hessian_trace", trace["trace"], n, std_error=trace["std_error"]))
        for layer, value in trace["per_layer"].items():
            rows.append(row(f"hessian_trace_{layer}", value, n, std_error=trace["per_layer_std_error"][layer]))
    return rows


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """Lanczos at its maximum steps and every probe: one Hessian-vector product (2 grads) each, per image."""
    options = section["hessian"]
    return section["n_points"] * (2 * (options["iters"] + options["probes"]) * grad_s)


def is_sharpness(measure_name: str) -> bool:
    return measure_name == "hessian_eig1"


def names(section: dict) -> list[str]:
    """Every name but the per-layer traces (their layers depend on the network)."""
    options = section["hessian"]
    found = [f"hessian_eig{i}" for i in range(1, options["k"] + 1)] + ["hessian_eig_min"]
    return found + (["hessian_trace"] if options["probes"] else [])
