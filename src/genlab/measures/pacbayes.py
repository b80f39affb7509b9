"""Measure kind "pacbayes": flatness under weight noise, Jiang et al. 2019 (arXiv:1912.02178, Appendix C).

sigma', sigma'_mag and alpha' are defined in genlab.measures.noise_flatness (the accuracy on
the n_points training points drops by measures.pacbayes_target under the noise); w are all the
trainable parameters, w^0 the run's initial ones, m = n_train (the run's training-set size):

    pacbayes_init            ||w - w^0||^2 / (4 sigma'^2) + log(m / sigma') + 10      (48)
    pacbayes_orig            ||w||^2 / (4 sigma'^2) + log(m / sigma') + 10            (49)
    pacbayes_sharpness       1 / alpha'^2, worst case over |u_i| <= alpha'             (52: numbered
                             here from its neighbours 48, 49, 53 in the reference code; not checked
                             against the paper's text)
    pacbayes_flatness        1 / sigma'^2, u ~ N(0, sigma'^2 I)                         (53)
    pacbayes_mag_flatness    1 / sigma'_mag^2, u_i ~ N(0, sigma'^2 w_i^2 + eps^2)       (61)

steps: evaluations of the bisection; converged: it bracketed sigma' and narrowed it to relative
width pacbayes_tol within pacbayes_max_steps. config keys measures.pacbayes_target, pacbayes_draws,
pacbayes_tol, pacbayes_max_steps, pacbayes_mag_eps, pacbayes_ascent_steps.
"""

from __future__ import annotations

import math

from .rows import SHARPNESS_FAMILY, row

NAME = "pacbayes"
FAMILY = SHARPNESS_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ("pacbayes_target", "pacbayes_draws", "pacbayes_tol", "pacbayes_max_steps", "pacbayes_mag_eps",
        "pacbayes_ascent_steps")
SCHEMA = None  # its keys are in workflow/schemas/config.schema.yaml
PER_CHECKPOINT = True
MEASURES = ("init", "orig", "sharpness", "flatness", "mag_flatness")
# Under the rescaling of genlab.measures.reparam (one ReLU layer by c, the next by 1/c): the
# magnitude-aware noise scales with the weights, so the perturbed networks are rescaled copies of
# each other and sigma'_mag is unchanged (up to eps); isotropic noise and a box are not.
INVARIANT = {"init": False, "orig": False, "sharpness": False, "flatness": False, "mag_flatness": True}


def check(section: dict, config: dict) -> None:
    pass  # every key is checked alone by the schema


def names(section: dict) -> list[str]:
    return [f"{NAME}_{measure}" for measure in MEASURES]


def is_invariant(measure_name: str) -> bool | None:
    return INVARIANT.get(measure_name.removeprefix(NAME + "_"))


def bound(distance_squared: float, sigma: float, m: int) -> float:
    """Jiang et al.'s PAC-Bayes bound term: |w - w_ref|^2 / (4 sigma^2) + log(m / sigma) + 10."""
    return distance_squared / (4 * sigma**2) + math.log(m / sigma) + 10


def run(model, data, context) -> list[dict]:
    import torch

    from .loss import trainable
    from .noise_flatness import noise_scale, worst_case_scale

    x, y = data
    n, o = len(x), context.options
    search = dict(target=o["pacbayes_target"], tol=o["pacbayes_tol"], max_steps=o["pacbayes_max_steps"],
                  chunk_size=context.chunk_size)
    sigma = noise_scale(model, x, y, draws=o["pacbayes_draws"], seed=context.seed, **search)
    magnitude = noise_scale(model, x, y, draws=o["pacbayes_draws"], seed=context.seed,
                            magnitude_eps=o["pacbayes_mag_eps"], **search)
    alpha = worst_case_scale(model, x, y, ascent_steps=o["pacbayes_ascent_steps"], **search)
    param_names, params = trainable(model)
    start = context.initial_state()
    with torch.no_grad():
        squared = sum(p.double().pow(2).sum().item() for p in params)
        from_start = sum((p.double() - start[k].to(p.device).double()).pow(2).sum().item() for k, p in zip(param_names, params))
    s = sigma["value"]

    def found(measure: str, value: float, search: dict) -> dict:
        return row(f"{NAME}_{measure}", value, n, steps=search["steps"], converged=search["converged"])

    return [
        found("init", bound(from_start, s, context.n_train), sigma),
        found("orig", bound(squared, s, context.n_train), sigma),
        found("sharpness", 1 / alpha["value"] ** 2, alpha),
        found("flatness", 1 / s**2, sigma),
        found("mag_flatness", 1 / magnitude["value"] ** 2, magnitude),
    ]


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """Every search at its maximum steps, per image: the two noise searches evaluate `draws` perturbed
    networks per step, the worst-case one ascends (a gradient per ascent step) then evaluates once."""
    steps, n = section["pacbayes_max_steps"], section["n_points"]
    noise = 2 * (steps * section["pacbayes_draws"] + 1) * eval_s
    worst = steps * ((section["pacbayes_ascent_steps"] + 1) * grad_s + eval_s) + eval_s
    return n * (noise + worst)


def is_sharpness(measure_name: str) -> bool:
    return False  # the sharpness claim keeps its own measures (Keskar's, the top eigenvalue)
