"""The spread of minibatch gradients at a checkpoint: the numerics of measure kind "optimisation"."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import GenlabError
from .loss import loss_and_grad


def minibatch_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """The flattened mean-loss gradient of each full consecutive batch of batch_size points (a last partial one dropped)."""
    found = []
    for start in range(0, len(x) - batch_size + 1, batch_size):
        _, grad = loss_and_grad(model, x[start : start + batch_size], y[start : start + batch_size], batch_size)
        found.append(torch.cat([g.reshape(-1) for g in grad]).double())
    return found


def gradient_noise(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> dict:
    """{"value": sum_b ||g_b - g_mean||^2 / (B - 1), "std_error", "batches": B}: the (unbiased) variance of
    the B minibatch gradients g_b around their mean, summed over coordinates; at least 2 batches."""
    grads = minibatch_gradients(model, x, y, batch_size)
    if len(grads) < 2:
        raise GenlabError(f"gradient noise needs at least 2 batches of {batch_size} points, got {len(x)} points")
    stacked = torch.stack(grads)  # (B, P)
    deviations = (stacked - stacked.mean(dim=0)).pow(2).sum(dim=1)  # (B,)
    b = len(grads)
    value = deviations.sum().item() / (b - 1)
    # Each ||g_b - mean||^2 * B / (B - 1) estimates the variance: the error of their mean.
    scaled = deviations * b / (b - 1)
    return {"value": value, "std_error": (scaled.std() / b**0.5).item(), "batches": b}
