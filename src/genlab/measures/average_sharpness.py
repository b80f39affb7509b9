"""Measure kind "average_sharpness": E[L(theta + delta)] - L(theta), one measure average_sharpness_<sigma> each.

With its standard error over the noise draws. config keys measures.average_sigma, samples
(draws per sigma); numerics in genlab.measures.sharpness.
"""

from __future__ import annotations

from .rows import SHARPNESS_FAMILY, row, scaled_kind

NAME = "average_sharpness"
FAMILY = SHARPNESS_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ("average_sigma", "samples")
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = True
LABEL = "average sharpness (loss rise), \u03c3 = {suffix}"  # figures' axis label; suffix: the noise level in the name
measure_name, names, check = scaled_kind(NAME, "average_sigma")


def run(model, data, context) -> list[dict]:
    """`samples` Gaussian draws per sigma over data = (x, y), seeded with measures.seed."""
    from .sharpness import average_sharpness

    draws = context.options["samples"]
    return [
        row(measure_name(sigma), r["value"], len(data[1]), std_error=r["std_error"])
        for sigma in context.options["average_sigma"]
        for r in [average_sharpness(model, *data, sigma, draws, context.seed, context.chunk_size)]
    ]


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """The loss at theta and at every draw: one evaluation per image each."""
    return section["n_points"] * (len(section["average_sigma"]) * (section["samples"] + 1) * eval_s)


def is_sharpness(measure_name: str) -> bool:
    return False  # a mean over random directions, not the worst case the claim is about
