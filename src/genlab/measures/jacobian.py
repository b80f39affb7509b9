"""The input-output Jacobian norm (Novak et al. 2018): mean over points of ||d f(x) / dx||_F.

f is the softmax output (Novak et al.) or the logits (the original homework's choice).
The Jacobian of each point is (10, 784); all ten rows come from one forward pass and
ten backward passes over a whole batch, which is exact because the networks treat
points independently (no batch normalisation).
"""

from __future__ import annotations

import torch
from torch import nn

OUTPUTS = ("softmax", "logits")


def jacobian_norms(model: nn.Module, x: torch.Tensor, output: str = "softmax", batch_size: int = 500) -> torch.Tensor:
    """Per-point Frobenius norm of the input-output Jacobian; x (N, 1, 28, 28) -> (N,)."""
    if output not in OUTPUTS:
        raise ValueError(f"output {output!r} is not one of {OUTPUTS}")
    model.eval()
    norms = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].detach().clone().requires_grad_(True)
        out = model(xb)  # (B, 10)
        if output == "softmax":
            out = out.softmax(dim=1)
        squared = torch.zeros(len(xb), device=x.device)
        for k in range(out.shape[1]):
            (grad,) = torch.autograd.grad(out[:, k].sum(), xb, retain_graph=k + 1 < out.shape[1])  # (B, 1, 28, 28)
            squared += grad.flatten(1).pow(2).sum(1)
        norms.append(squared.sqrt().detach())
    return torch.cat(norms)


def mean_jacobian_norm(model: nn.Module, x: torch.Tensor, output: str = "softmax", batch_size: int = 500) -> float:
    return jacobian_norms(model, x, output, batch_size).mean().item()
