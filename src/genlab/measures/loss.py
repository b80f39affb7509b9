"""The loss every measure takes, its gradient and Hessian-vector products, and parameter helpers.

L(theta) = (1/N) sum_n CE(f_theta(x_n), y_n) over an evaluation set (x, y). Its value is
genlab.training.evaluate's, the function training records its metrics with, so a measure's
"loss" is a checkpoint's loss bit for bit when the chunking is the same. Gradients and
Hessian-vector products are computed in the parameters' dtype (fp32 for our checkpoints,
fp64 in the tests that compare with a dense Hessian).

The set is processed in chunks of `chunk_size` points so that memory stays bounded whatever
N is: each chunk contributes its *sum* divided by N, so every result is that of the mean
over all N points whatever the chunking (never a mean of chunk means, never a sum).
A Hessian-vector product is one forward pass, one backward pass with create_graph and one
backward pass of <grad, v> per chunk (double backward): no Python loop over points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GenlabError
from ..training import evaluate


def trainable(model: nn.Module) -> tuple[list[str], list[nn.Parameter]]:
    """Names and tensors of the parameters L is differentiated with respect to (requires_grad)."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise GenlabError(f"model {type(model).__name__} has no parameter that requires grad")
    return [name for name, _ in named], [p for _, p in named]


# Layer kinds named for readers: the first conv layer is conv1, the second dense layer dense2.
LAYER_KINDS = ((nn.Conv2d, "conv"), (nn.Linear, "dense"))


def labelled_layers(model: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """(path, label, module) of every submodule holding parameters itself, in module order, labels
    counted per kind: an nn.Sequential(Conv2d, ReLU, Conv2d, ..., Linear, Linear) gives conv1, conv2,
    dense1, dense2; a module of another kind is named by its class ("batchnorm1d1"); a bare nn.Linear is dense1."""
    counts: dict[str, int] = {}
    found = []
    for path, module in model.named_modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        kind = next((label for cls, label in LAYER_KINDS if isinstance(module, cls)), type(module).__name__.lower())
        counts[kind] = counts.get(kind, 0) + 1
        found.append((path, f"{kind}{counts[kind]}", module))
    return found


def layer_names(model: nn.Module) -> dict[str, str]:
    """parameter name -> its layer's label (labelled_layers); names stay valid as a suffix of a measure name."""
    return {f"{path}.{name}" if path else name: label for path, label, module in labelled_layers(model)
            for name, _ in module.named_parameters(recurse=False)}


def check_data(x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> None:
    if len(x) == 0:
        raise GenlabError("evaluation set is empty (x has 0 points)")
    if len(x) != len(y):
        raise GenlabError(f"x has {len(x)} points but y has {len(y)} labels")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise GenlabError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def chunks(n: int, chunk_size: int) -> Iterator[slice]:
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def _chunk_loss_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum (not mean) of the cross-entropy over one chunk, in the logits' dtype; a scalar."""
    return F.cross_entropy(model(x), y, reduction="sum")  # logits (B, C)


def loss_and_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> dict:
    """{"loss", "accuracy"} over all of (x, y), no gradient: genlab.training.evaluate, after the checks."""
    check_data(x, y, chunk_size)
    return evaluate(model, x, y, chunk_size)


def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> float:
    """L(theta) as a Python float."""
    return loss_and_accuracy(model, x, y, chunk_size)["loss"]


def loss_and_grad(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000
) -> tuple[float, list[torch.Tensor]]:
    """L(theta) and its gradient (one tensor per trainable parameter, shaped like it)."""
    check_data(x, y, chunk_size)
    model.eval()
    _, params = trainable(model)
    n = len(x)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    grad = [torch.zeros_like(p) for p in params]
    with torch.enable_grad():
        for part in chunks(n, chunk_size):
            loss = _chunk_loss_sum(model, x[part], y[part])
            total += loss.detach().double()
            for acc, g in zip(grad, torch.autograd.grad(loss / n, params, materialize_grads=True)):
                acc += g
    return total.item() / n, grad


def chunk_grads(model: nn.Module, params: list[nn.Parameter], x: torch.Tensor, y: torch.Tensor, n: int):
    """Gradient of (chunk loss sum) / n with its graph kept, for double backward."""
    loss = _chunk_loss_sum(model, x, y) / n
    return torch.autograd.grad(loss, params, create_graph=True, materialize_grads=True)


def grad_dot_backward(grads, params, v, retain_graph: bool = False) -> list[torch.Tensor]:
    """d<grads, v>/d params = H v for the chunk whose gradient `grads` is (v held constant)."""
    dot = sum((g * vi).sum() for g, vi in zip(grads, v))
    if not dot.requires_grad:  # the gradient does not depend on the parameters: H = 0
        return [torch.zeros_like(p) for p in params]
    return list(torch.autograd.grad(dot, params, retain_graph=retain_graph, materialize_grads=True))


def check_like(v: Sequence[torch.Tensor], names: list[str], params: list[nn.Parameter], what: str) -> None:
    if len(v) != len(params):
        raise GenlabError(f"{what} has {len(v)} tensors but the model has {len(params)} trainable parameters")
    for name, vi, p in zip(names, v, params):
        if tuple(vi.shape) != tuple(p.shape):
            raise GenlabError(f"{what} for parameter {name} has shape {tuple(vi.shape)}, expected {tuple(p.shape)}")


def hvp(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, v: Sequence[torch.Tensor], chunk_size: int = 1000
) -> list[torch.Tensor]:
    """Hessian of L times v; v and the result are lists shaped like the trainable parameters."""
    check_data(x, y, chunk_size)
    model.eval()
    names, params = trainable(model)
    check_like(v, names, params, "vector")
    v = [vi.detach().to(device=p.device, dtype=p.dtype) for vi, p in zip(v, params)]
    out = [torch.zeros_like(p) for p in params]
    with torch.enable_grad():
        for part in chunks(len(x), chunk_size):
            grads = chunk_grads(model, params, x[part], y[part], len(x))
            for acc, h in zip(out, grad_dot_backward(grads, params, v)):
                acc += h
    return out


@contextmanager
def restored(params: Sequence[nn.Parameter]) -> Iterator[list[torch.Tensor]]:
    """Yield copies of the parameters' values; copy them back on exit (bitwise), also after an error."""
    saved = [p.detach().clone() for p in params]
    try:
        yield saved
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)


def std_error(values: Sequence[float]) -> float:
    """Standard error of the mean: sample standard deviation (n - 1) over sqrt(n)."""
    n = len(values)
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def flat_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """(L as a function of the flattened trainable parameters, their current values): for torch.func's
    dense Hessians and forward-over-reverse products, the independent check of hvp."""
    names, params = trainable(model)
    flat = torch.cat([p.detach().reshape(-1) for p in params])  # (P,)

    def loss(vector: torch.Tensor) -> torch.Tensor:
        tensors, start = {}, 0
        for name, p in zip(names, params):
            tensors[name] = vector[start : start + p.numel()].view_as(p)
            start += p.numel()
        return F.cross_entropy(torch.func.functional_call(model, tensors, (x,)), y)

    return loss, flat
