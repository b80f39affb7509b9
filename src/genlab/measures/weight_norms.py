"""Norms of a network's layers, its path norm and its output margin: the numerics of measure kind "norms".

A layer is a Conv2d or Linear module with a weight, named by kind and rank, in forward order:
conv1, conv2, ..., dense1, dense2 (`weighted_layers`). Norms are of the weights only (W_i, not
the biases), as Jiang et al. 2019 (arXiv:1912.02178, Appendix C) write them; the path norm
takes the biases along (every parameter squared).

The spectral norm of a convolution is that of the linear operator it applies to its actual
input (C_in x H x W -> C_out x H' x W'), not of the kernel reshaped to a C_out x (C_in k k)
matrix: power iteration v <- A^T A v with A = conv2d and A^T = conv_transpose2d (its exact
adjoint). A dense layer's is exact (torch.linalg.matrix_norm, ord 2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GenlabError
from .loss import labelled_layers


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Conv2d and Linear, in module order: conv1, conv2, dense1, ... (loss.labelled_layers)."""
    found = [(label, module) for _, label, module in labelled_layers(model) if isinstance(module, (nn.Conv2d, nn.Linear))]
    if not found:
        raise GenlabError(f"model {type(model).__name__} has no Conv2d or Linear layer")
    return found


def layer_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Size]:
    """The shape of one example's input to each weighted layer (a forward pass with hooks)."""
    shapes, handles = {}, []
    for name, module in weighted_layers(model):
        handles.append(module.register_forward_hook(lambda m, args, out, name=name: shapes.__setitem__(name, args[0].shape[1:])))
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def conv_operator_norm(conv: nn.Conv2d, input_shape, iters: int = 100, tol: float = 1e-4, seed: int = 0) -> dict:
    """Largest singular value of the map v -> conv(v) (no bias) on inputs of input_shape (C, H, W).

    Power iteration on A^T A from a seeded Gaussian start. For a unit v, lambda = ||A v||^2 is the
    Rayleigh quotient of A^T A and some eigenvalue lies within the residual ||A^T A v - lambda v||
    of it: converged when that residual is <= tol * lambda (sigma = sqrt(lambda) then right to
    about tol / 2). {"value": sqrt(lambda), "steps", "converged"}.
    """
    weight = conv.weight.detach()
    options = dict(stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
    generator = torch.Generator().manual_seed(seed)
    v = torch.randn((1, *input_shape), generator=generator, dtype=weight.dtype).to(weight.device)
    v /= v.norm()
    value, converged, step = 0.0, False, 0
    for step in range(1, iters + 1):
        u = F.conv2d(v, weight, **options)
        # conv_transpose2d is conv2d's adjoint; output_padding restores the input size a stride dropped.
        out_pad = [size - ((o - 1) * s - 2 * p + d * (k - 1) + 1) for size, o, s, p, d, k in zip(
            input_shape[1:], u.shape[2:], conv.stride, conv.padding, conv.dilation, weight.shape[2:])]
        w = F.conv_transpose2d(u, weight, output_padding=out_pad, **options)
        rayleigh = u.pow(2).sum().item()
        value = math.sqrt(rayleigh)
        size = w.norm().item()
        if size == 0:  # v in the null space (a zero kernel): the operator is 0 there
            return {"value": 0.0, "steps": step, "converged": True}
        if (w - rayleigh * v).norm().item() <= tol * rayleigh:
            converged = True
            break
        v = w / size
    return {"value": value, "steps": step, "converged": converged}


def spectral_norms(model: nn.Module, x: torch.Tensor, iters: int = 100, tol: float = 1e-4, seed: int = 0) -> dict:
    """{layer: {"value", "steps", "converged"}}: the operator norm of every weighted layer on x's shape."""
    shapes = layer_inputs(model, x)
    found = {}
    for name, module in weighted_layers(model):
        if isinstance(module, nn.Conv2d):
            found[name] = conv_operator_norm(module, shapes[name], iters, tol, seed)
        else:
            exact = torch.linalg.matrix_norm(module.weight.detach().double(), ord=2).item()
            found[name] = {"value": exact, "steps": None, "converged": True}
    return found


def frobenius_norms(model: nn.Module) -> dict[str, float]:
    """{layer: ||W_i||_F}."""
    return {name: module.weight.detach().double().norm().item() for name, module in weighted_layers(model)}


def distance_from(model: nn.Module, initial_state: dict[str, torch.Tensor]) -> float:
    """sum_i ||W_i - W_i^0||_F^2 over the weighted layers' weights (Jiang et al. eq. 40)."""
    names = {id(p): name for name, p in model.named_parameters()}
    total = 0.0
    for _, module in weighted_layers(model):
        start = initial_state[names[id(module.weight)]].to(module.weight.device)
        total += (module.weight.detach().double() - start.double()).pow(2).sum().item()
    return total


def path_norm(model: nn.Module, x: torch.Tensor) -> float:
    """sum of f_{w^2}(1): the network with every parameter squared, applied to an all-ones input
    shaped like one example of x, its outputs summed (Jiang et al. eq. 44). Equals the sum over
    all input-to-output paths (and bias-to-output paths) of the product of squared weights."""
    import copy

    squared = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in squared.parameters():
            p.pow_(2)
        return squared(torch.ones_like(x[:1], dtype=torch.float64)).sum().item()


def margins(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> torch.Tensor:
    """f(x)[y] - max_{j != y} f(x)[j] for every point (negative where the point is misclassified)."""
    model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), chunk_size):
            logits = model(x[start : start + chunk_size]).double()
            labels = y[start : start + chunk_size]
            correct = logits.gather(1, labels[:, None]).squeeze(1)
            others = logits.scatter(1, labels[:, None], -math.inf).amax(dim=1)
            parts.append(correct - others)
    return torch.cat(parts)


def margin_percentile(model: nn.Module, x: torch.Tensor, y: torch.Tensor, percentile: float, chunk_size: int = 1000) -> float:
    """gamma: the `percentile`-th percentile of the margins (Jiang et al. take the 10th), linear interpolation."""
    return torch.quantile(margins(model, x, y, chunk_size), percentile / 100.0).item()
