"""Measure kind "norms": norm- and margin-based measures of Jiang et al. 2019 (arXiv:1912.02178, Appendix C).

Equation numbers are those of that appendix. W_i are the weights of the d weighted layers
(conv1, conv2, ..., dense1, ...; biases excluded), W_i^0 the run's initial weights, gamma the
margins' `margin_percentile`-th percentile over the n_points training points (Jiang: the 10th):

    norms_inverse_margin                  1 / gamma^2                                    (22)
    norms_spectral_product_over_margin    prod_i ||W_i||_2^2 / gamma^2                    (31)
    norms_spectral_product                prod_i ||W_i||_2^2                              (32)
    norms_frobenius_product_over_margin   prod_i ||W_i||_F^2 / gamma^2                    (36)
    norms_frobenius_product               prod_i ||W_i||_F^2                              (37)
    norms_frobenius_sum                   d (prod_i ||W_i||_F^2)^(1/d)                    (39)
    norms_dist_init                       sum_i ||W_i - W_i^0||_F^2                       (40)
    norms_param                           sum_i ||W_i||_F^2                               (42)
    norms_path_over_margin                norms_path / gamma^2                            (43)
    norms_path                            sum f_{w^2}(1), every parameter squared         (44)
    norms_spectral_<layer>                ||W_i||_2 of one layer (not squared)

||W_i||_2 is the operator norm of the layer on its actual input (power iteration with conv2d and
conv_transpose2d for a convolution, genlab.measures.weight_norms), not of the reshaped kernel.
Where gamma <= 0 (more than that percentile misclassified) the margin measures are NaN: their
bound says nothing. Jiang's final sqrt(value / m) scaling is left out: for one training-set size
it does not change any ranking. config keys measures.margin_percentile, spectral_iters, spectral_tol.
"""

from __future__ import annotations

import math

from ..errors import GenlabError
from .rows import NORM_FAMILY, row

NAME = "norms"
FAMILY = NORM_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ("margin_percentile", "spectral_iters", "spectral_tol")
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = True
MEASURES = (
    "inverse_margin", "spectral_product_over_margin", "spectral_product", "frobenius_product_over_margin",
    "frobenius_product", "frobenius_sum", "dist_init", "param", "path_over_margin", "path",
)
# Unchanged when one ReLU layer (weights and bias) is scaled by c and the next layer's weights by
# 1/c (Dinh et al. 2017): the function, hence gamma, and every product of layer norms are.
INVARIANT = {
    "inverse_margin": True, "spectral_product_over_margin": True, "spectral_product": True,
    "frobenius_product_over_margin": True, "frobenius_product": True, "frobenius_sum": True,
    "dist_init": False, "param": False, "path_over_margin": True, "path": True,
}


def check(section: dict, config: dict) -> None:
    if not 0 < section["margin_percentile"] < 100:
        raise GenlabError(f"config key measures.margin_percentile: {section['margin_percentile']!r} must lie strictly between 0 and 100")


def names(section: dict) -> list[str]:
    """Every name but the per-layer spectral norms (their layers depend on the network)."""
    return [f"{NAME}_{measure}" for measure in MEASURES]


def is_invariant(measure_name: str) -> bool | None:
    """Whether the measure is invariant under the rescaling above; None for a name of no norms measure."""
    suffix = measure_name.removeprefix(NAME + "_")
    if suffix.startswith("spectral_") and suffix not in INVARIANT:
        return False  # one layer's norm: scaled by c
    return INVARIANT.get(suffix)


def values(model, data, context) -> tuple[dict, dict]:
    """({measure suffix: value}, the spectral norms' {layer: power-iteration result})."""
    from . import weight_norms as wn

    x, y = data
    options = context.options
    spectral = wn.spectral_norms(model, x, options["spectral_iters"], options["spectral_tol"], context.seed)
    frobenius = wn.frobenius_norms(model)
    d = len(frobenius)
    gamma = wn.margin_percentile(model, x, y, options["margin_percentile"], context.chunk_size)
    per_margin = 1.0 / gamma**2 if gamma > 0 else math.nan
    spectral_product = math.prod(r["value"] ** 2 for r in spectral.values())
    frobenius_product = math.prod(v**2 for v in frobenius.values())
    path = wn.path_norm(model, x)
    found = {
        "inverse_margin": per_margin,
        "spectral_product_over_margin": spectral_product * per_margin,
        "spectral_product": spectral_product,
        "frobenius_product_over_margin": frobenius_product * per_margin,
        "frobenius_product": frobenius_product,
        "frobenius_sum": d * frobenius_product ** (1.0 / d),
        "dist_init": wn.distance_from(model, context.initial_state()),
        "param": sum(v**2 for v in frobenius.values()),
        "path_over_margin": path * per_margin,
        "path": path,
    }
    return found, spectral


def run(model, data, context) -> list[dict]:
    """The measures; those built on spectral norms carry the power iterations' most steps and whether all
    converged (empty for a network without convolutions: its dense layers' norms are exact)."""
    n = len(data[1])
    found, spectral = values(model, data, context)
    iterated = [r for r in spectral.values() if r["steps"] is not None]
    steps = max((r["steps"] for r in iterated), default=None)
    converged = all(r["converged"] for r in iterated) if iterated else None
    rows = []
    for measure in MEASURES:
        spectral_based = measure.startswith("spectral_")
        rows.append(row(f"{NAME}_{measure}", found[measure], n, steps=steps if spectral_based else None,
                        converged=converged if spectral_based else None))
    for layer, r in spectral.items():
        exact = r["steps"] is None  # a dense layer
        rows.append(row(f"{NAME}_spectral_{layer}", r["value"], n, steps=r["steps"], converged=None if exact else r["converged"]))
    return rows


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """The margins: one evaluation per image; the power iterations: a conv and its transpose per step and
    layer, at most two one-image evaluations of the network per step; path norm and norms: negligible."""
    return (section["n_points"] + 2 * section["spectral_iters"]) * eval_s


def is_sharpness(measure_name: str) -> bool:
    return False  # norms, not the worst-case loss the claim is about
