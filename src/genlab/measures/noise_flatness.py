"""The weight-noise scale a network tolerates: the numerics of measure kind "pacbayes".

sigma' (Jiang et al. 2019, Appendix C): the noise scale at which the expected training accuracy
has dropped by `target` (0.1) below the checkpoint's:

    acc(w) - E_u[acc(w + u)] = target,  u_i ~ N(0, sigma'^2)                   (plain)
                                        u_i ~ N(0, sigma'^2 w_i^2 + eps^2)      (magnitude-aware)

alpha': the same with the worst case over a box, max_{|u_i| <= alpha'}, the maximum sought by
projected sign ascent on the cross-entropy (genlab.measures.sharpness.box_ascent) and its
accuracy drop read at the loss's maximiser.

Both are found by `bisect_scale`. The expectation is a mean over `draws` Gaussian draws that
are the same at every sigma (common random numbers: z from a generator seeded with `seed`,
u = scale(sigma) * z), so the estimate is a deterministic function of sigma that bisection
can follow. Every parameter (weights and biases) is perturbed, and restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..errors import GenlabError
from .loss import loss_and_accuracy, loss_and_grad, restored, trainable
from .sharpness import box_ascent

# An accuracy drop counts as reaching the target when it falls short by rounding only: 1 - 0.9 is
# 0.0999... in floating point, yet 4 of 40 points wrong is a drop of 0.1.
ROUNDING = 1e-9


def bisect_scale(exceeds: Callable[[float], bool], tol: float = 0.01, max_steps: int = 30, start: float = 1.0) -> dict:
    """The scale s > 0 where exceeds(s) turns from False to True, to relative accuracy tol.

    From `start`, halve (while exceeds) or double (until exceeds) to bracket the switch within
    [lo, 2 lo], then bisect until hi - lo <= tol * hi. Each call of exceeds is a step.
    {"value": the bracket's midpoint, "low", "high", "steps", "converged": bracketed and within tol
    in at most max_steps}; without a bracket value is the last scale tried and converged False.
    """
    if not 0 < tol < 1:
        raise GenlabError(f"bisection tolerance must lie in (0, 1), got {tol!r}")
    scale, steps = float(start), 1
    above = exceeds(scale)
    low, high = (None, scale) if above else (scale, None)
    while (low is None or high is None) and steps < max_steps:
        scale = scale / 2 if above else scale * 2
        steps += 1
        if exceeds(scale):
            high = scale
        else:
            low = scale
    if low is None or high is None:
        return {"value": scale, "low": low, "high": high, "steps": steps, "converged": False}
    while high - low > tol * high and steps < max_steps:
        middle = (low + high) / 2
        steps += 1
        if exceeds(middle):
            high = middle
        else:
            low = middle
    return {"value": (low + high) / 2, "low": low, "high": high, "steps": steps, "converged": high - low <= tol * high}


def _set(params: list[nn.Parameter], values: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for p, v in zip(params, values):
            p.copy_(v)


def noisy_accuracy(model: nn.Module, x, y, sigma: float, draws: int, seed: int, chunk_size: int = 1000,
                   magnitude_eps: float | None = None) -> float:
    """E_u[acc(w + u)] over `draws` draws (the same z at every sigma); magnitude_eps: the magnitude-aware noise."""
    _, params = trainable(model)
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    with restored(params) as theta:
        for _ in range(draws):
            z = [torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device) for t in theta]
            if magnitude_eps is None:
                _set(params, [t + sigma * zi for t, zi in zip(theta, z)])
            else:
                _set(params, [t + (sigma**2 * t**2 + magnitude_eps**2).sqrt() * zi for t, zi in zip(theta, z)])
            total += loss_and_accuracy(model, x, y, chunk_size)["accuracy"]
    return total / draws


def noise_scale(model: nn.Module, x, y, target: float = 0.1, draws: int = 10, tol: float = 0.01, max_steps: int = 30,
                seed: int = 0, chunk_size: int = 1000, magnitude_eps: float | None = None) -> dict:
    """sigma' (magnitude-aware with magnitude_eps): bisect_scale's result plus the checkpoint's "accuracy"."""
    base = loss_and_accuracy(model, x, y, chunk_size)["accuracy"]

    def exceeds(sigma: float) -> bool:
        return base - noisy_accuracy(model, x, y, sigma, draws, seed, chunk_size, magnitude_eps) >= target - ROUNDING

    return {**bisect_scale(exceeds, tol, max_steps), "accuracy": base}


def worst_case_accuracy(model: nn.Module, x, y, alpha: float, ascent_steps: int, chunk_size: int = 1000) -> float:
    """acc(w + u*) with u* the box |u_i| <= alpha's loss maximiser found by box_ascent."""
    _, params = trainable(model)
    with restored(params) as theta:

        def objective(delta):
            _set(params, [t + d for t, d in zip(theta, delta)])
            return loss_and_grad(model, x, y, chunk_size)

        found = box_ascent(objective, [torch.full_like(t, alpha) for t in theta], ascent_steps)
        _set(params, [t + d for t, d in zip(theta, found["delta"])])
        return loss_and_accuracy(model, x, y, chunk_size)["accuracy"]


def worst_case_scale(model: nn.Module, x, y, target: float = 0.1, ascent_steps: int = 20, tol: float = 0.01,
                     max_steps: int = 30, chunk_size: int = 1000) -> dict:
    """alpha': bisect_scale's result plus the checkpoint's "accuracy"."""
    base = loss_and_accuracy(model, x, y, chunk_size)["accuracy"]

    def exceeds(alpha: float) -> bool:
        return base - worst_case_accuracy(model, x, y, alpha, ascent_steps, chunk_size) >= target - ROUNDING

    return {**bisect_scale(exceeds, tol, max_steps), "accuracy": base}
