"""Loss landscape along filter-normalised random directions (Li et al. 2018): measure kind landscape's numerics.

A raw random direction is meaningless across networks because ReLU nets are invariant to
rescaling a filter; filter normalisation gives each filter of the direction the norm of the
same filter of theta, so that t = 1 means "a perturbation as large as the weights".

theta + t d is formed as a copy of theta to which t d is added only when t != 0, so the
point t = 0 (and (0, 0) in 2-D) is theta bit for bit and its loss is the checkpoint's loss
exactly. Each grid point costs one parameter write and one forward pass per chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import GenlabError
from .loss import check_like, loss_and_accuracy, restored, trainable

COLUMNS_1D = ["t", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
COLUMNS_2D = ["t1", "t2", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


def filter_normalized_direction(model: nn.Module, seed: int) -> list[torch.Tensor]:
    """A Gaussian direction shaped like the trainable parameters, filter-normalised.

    For every parameter with >= 2 dimensions, each filter (the slice at one index of dim 0:
    a convolution's output channel, a row of a Linear weight) is rescaled to the norm of
    the same filter of theta (a zero filter of theta gives a zero filter). 1-D parameters
    (biases) get zero. Drawn from a CPU generator seeded with `seed`: the same on every device.
    """
    _, params = trainable(model)
    generator = torch.Generator().manual_seed(seed)
    direction = []
    for p in params:
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        if p.dim() < 2:
            direction.append(torch.zeros_like(p))
            continue
        theta_norm = p.detach().flatten(1).norm(dim=1)  # (filters,)
        d_norm = d.flatten(1).norm(dim=1)  # (filters,)
        factor = torch.where(d_norm > 0, theta_norm / d_norm, torch.zeros_like(d_norm))
        direction.append(d * factor.view(-1, *([1] * (p.dim() - 1))))
    return direction


def _set(params, theta, directions: Sequence[Sequence[torch.Tensor]], coefficients: Sequence[float]) -> None:
    """params <- theta + sum_j c_j d_j, adding only the terms with c_j != 0 (so 0 gives theta exactly)."""
    with torch.no_grad():
        for i, (p, t) in enumerate(zip(params, theta)):
            p.copy_(t)
            for d, c in zip(directions, coefficients):
                if c != 0:
                    p.add_(d[i], alpha=c)


def _point(model, x_train, y_train, x_test, y_test, chunk_size: int) -> dict:
    train = loss_and_accuracy(model, x_train, y_train, chunk_size)
    test = loss_and_accuracy(model, x_test, y_test, chunk_size)
    return {
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
    }


def _directions(model: nn.Module, directions: Sequence[Sequence[torch.Tensor]]):
    names, params = trainable(model)
    moved = []
    for j, d in enumerate(directions, start=1):
        check_like(d, names, params, f"direction {j}")
        moved.append([di.detach().to(device=p.device, dtype=p.dtype) for di, p in zip(d, params)])
    return params, moved


def landscape_1d(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    direction: Sequence[torch.Tensor],
    ts: Sequence[float],
    chunk_size: int = 1000,
) -> list[dict]:
    """Rows {t, train_loss, train_accuracy, test_loss, test_accuracy} at theta + t d, in the order of ts."""
    params, (d,) = _directions(model, [direction])
    rows = []
    with restored(params) as theta:
        for t in ts:
            _set(params, theta, [d], [float(t)])
            rows.append({"t": float(t), **_point(model, x_train, y_train, x_test, y_test, chunk_size)})
    return rows


def landscape_2d(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    d1: Sequence[torch.Tensor],
    d2: Sequence[torch.Tensor],
    t1s: Sequence[float],
    t2s: Sequence[float],
    chunk_size: int = 1000,
) -> list[dict]:
    """Rows {t1, t2, train_loss, train_accuracy, test_loss, test_accuracy} at theta + t1 d1 + t2 d2.

    Row order: t1 outer, t2 inner (the grid in row-major order of (t1s, t2s)).
    """
    if not len(t1s) or not len(t2s):
        raise GenlabError("landscape_2d needs at least one value in both t1s and t2s")
    params, (e1, e2) = _directions(model, [d1, d2])
    rows = []
    with restored(params) as theta:
        for t1 in t1s:
            for t2 in t2s:
                _set(params, theta, [e1, e2], [float(t1), float(t2)])
                point = _point(model, x_train, y_train, x_test, y_test, chunk_size)
                rows.append({"t1": float(t1), "t2": float(t2), **point})
    return rows
