"""Linear interpolation between two solutions: theta(a) = (1 - a) theta_A + a theta_B (Keskar et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..data import Tensors
from ..training import evaluate_splits

COLUMNS = ["alpha", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]


def interpolate_state(state_a: dict, state_b: dict, alpha: float) -> dict:
    # Written as (1-a)A + aB (not A + a(B-A)) so that a=0 and a=1 give A and B bit for bit.
    return {k: (1.0 - alpha) * state_a[k] + alpha * state_b[k] for k in state_a}


def interpolation_curve(
    model: nn.Module, state_a: dict, state_b: dict, alphas: Sequence[float], data: Tensors, batch_size: int = 1000
) -> list[dict]:
    device = data.x_train.device
    state_a = {k: v.to(device) for k, v in state_a.items()}
    state_b = {k: v.to(device) for k, v in state_b.items()}
    model.to(device)
    rows = []
    for alpha in alphas:
        with torch.no_grad():
            model.load_state_dict(interpolate_state(state_a, state_b, alpha))
        rows.append({"alpha": alpha, **evaluate_splits(model, data, batch_size)})
    return rows
