"""Measure kind "keskar": Keskar et al.'s sharpness in percent, one measure keskar_<eps> per box size.

steps and converged are those of the projected sign ascent. config keys measures.keskar_eps,
keskar_steps, keskar_lr; numerics in genlab.measures.sharpness.
"""

from __future__ import annotations

from .rows import SHARPNESS_FAMILY, row, scaled_kind

NAME = "keskar"
FAMILY = SHARPNESS_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ("keskar_eps", "keskar_steps", "keskar_lr")
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = True
LABEL = "Keskar sharpness, \u03b5 = {suffix} (%)"  # figures' axis label; suffix: the box size in the name
measure_name, names, check = scaled_kind(NAME, "keskar_eps")


def run(model, data, context) -> list[dict]:
    """One projected sign ascent per box size over data = (x, y)."""
    from .sharpness import keskar_sharpness

    x, y = data
    steps, lr = context.options["keskar_steps"], context.options["keskar_lr"]
    found = {eps: keskar_sharpness(model, x, y, eps, steps, lr, context.chunk_size) for eps in context.options["keskar_eps"]}
    return [row(measure_name(eps), r["value"], len(x), steps=r["steps"], converged=r["converged"]) for eps, r in found.items()]


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """Every ascent at its maximum steps: one loss-and-gradient pass per step and image."""
    return section["n_points"] * (len(section["keskar_eps"]) * section["keskar_steps"] * grad_s)


def is_sharpness(measure_name: str) -> bool:
    return measure_name.startswith(NAME + "_")
