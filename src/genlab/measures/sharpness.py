"""Sharpness of a minimum: worst case in a box (Keskar et al. 2017) and average under noise.

The numerics of measure kinds keskar and average_sharpness.

Keskar's measure, with A = I:

    100 * (max_{delta in C} L(theta + delta) - L(theta)) / (1 + L(theta)),
    C = {delta : |delta_i| <= eps * (|theta_i| + 1)},

is maximised by projected sign-gradient *ascent* (the public smoothout code steps down
the gradient, which measures the wrong thing). The average sharpness is
E[L(theta + delta)] - L(theta) with delta_i ~ N(0, (sigma (|theta_i| + 1))^2).

Both perturb the model's parameters in place and restore them bit for bit afterwards
(genlab.measures.loss.restored), also when an error interrupts them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..errors import GenlabError
from .loss import loss_and_grad, mean_loss, restored, std_error, trainable


def _check_scale(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise GenlabError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def box_ascent(
    objective: Callable[[list[torch.Tensor]], tuple[float, list[torch.Tensor]]],
    radius: Sequence[torch.Tensor],
    max_steps: int = 100,
    lr: float = 0.1,
    window: int = 10,
    rel_gain: float = 0.01,
) -> dict:
    """Maximise objective(delta) over the box |delta_i| <= radius_i by projected sign ascent.

    objective returns (value, gradient with respect to delta). Starting from delta = 0,
    each step moves every coordinate by lr * radius_i in the direction of its gradient's sign
    and clips to the box; a step that does not beat the best value so far is undone and the
    step size halved (so the best value never decreases and the search refines near an
    interior maximum). A convex objective's maximum lies at a vertex, reached in 1 / lr steps.

    Convergence: with best_s the best value after s steps (best_0 = f(0)), the search has
    converged after step s >= window when best_s - best_{s - window} <= rel_gain *
    (best_s - best_0): the last `window` steps gained at most 1 % (rel_gain) of the total gain,
    which is what the sharpness is proportional to. It then stops. Returns {"value": best,
    "start": f(0), "delta": best delta, "steps": objective gradients taken after the start,
    "converged"}.
    """
    if not isinstance(max_steps, int) or max_steps < 1:
        raise GenlabError(f"max_steps must be a positive integer, got {max_steps!r}")
    if not lr > 0:
        raise GenlabError(f"ascent step lr must be > 0, got {lr!r}")
    delta = [torch.zeros_like(r) for r in radius]
    start, grad = objective(delta)
    best, best_delta, best_grad = start, delta, grad
    history = [best]
    step_size = lr
    converged = False
    steps = 0
    for steps in range(1, max_steps + 1):
        candidate = [
            torch.minimum(torch.maximum(d + step_size * r * g.sign(), -r), r)
            for d, r, g in zip(best_delta, radius, best_grad)
        ]
        value, grad = objective(candidate)
        if value > best:
            best, best_delta, best_grad = value, candidate, grad
        else:
            step_size /= 2
        history.append(best)
        if steps >= window and history[-1] - history[-1 - window] <= rel_gain * (history[-1] - start):
            converged = True
            break
    return {"value": best, "start": start, "delta": best_delta, "steps": steps, "converged": converged}


def keskar_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, max_steps: int = 100,
                     lr: float = 0.1, chunk_size: int = 1000) -> dict:
    """Keskar et al.'s sharpness (A = I) in percent: {"value", "steps", "converged", "loss", "max_loss"}.

    The box maximum is found by box_ascent (see there for lr, steps and convergence); each
    step is one loss-and-gradient pass over all of (x, y). value >= 0: delta = 0 is in the box.
    """
    eps = _check_scale("keskar eps", eps)
    _, params = trainable(model)
    with restored(params) as theta:
        radius = [eps * (t.abs() + 1) for t in theta]

        def objective(delta: list[torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
            with torch.no_grad():
                for p, t, d in zip(params, theta, delta):
                    p.copy_(t + d)
            return loss_and_grad(model, x, y, chunk_size)  # d L(theta + delta) / d delta = dL/d theta there

        result = box_ascent(objective, radius, max_steps, lr)
    base = result["start"]
    return {
        "value": 100.0 * (result["value"] - base) / (1.0 + base),
        "steps": result["steps"],
        "converged": result["converged"],
        "loss": base,
        "max_loss": result["value"],
    }


def average_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: float, samples: int = 20,
                      seed: int = 0, chunk_size: int = 1000) -> dict:
    """E[L(theta + delta)] - L(theta) over `samples` Gaussian draws: {"value", "std_error"}.

    delta_i = sigma (|theta_i| + 1) z_i with z from a CPU generator seeded with `seed` (the
    same draws on every device). std_error is that of the mean over samples. At sigma = 0
    the parameters are left as they are, so the value is exactly 0.
    """
    sigma = _check_scale("average sharpness sigma", sigma)
    if not isinstance(samples, int) or samples < 2:
        raise GenlabError(f"average sharpness needs at least 2 samples for a standard error, got {samples!r}")
    base = mean_loss(model, x, y, chunk_size)
    _, params = trainable(model)
    generator = torch.Generator().manual_seed(seed)
    gaps = []
    with restored(params) as theta:
        for _ in range(samples):
            noise = [torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device) for t in theta]
            if sigma != 0:
                with torch.no_grad():
                    for p, t, z in zip(params, theta, noise):
                        p.copy_(t + sigma * (t.abs() + 1) * z)
            gaps.append(mean_loss(model, x, y, chunk_size) - base)
    return {"value": sum(gaps) / samples, "std_error": std_error(gaps)}
