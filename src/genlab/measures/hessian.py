"""Loss, gradient and Hessian of the mean cross-entropy over an evaluation set.

L(theta) = (1/N) sum_n CE(f_theta(x_n), y_n), computed in the parameters' dtype (fp32 for
our checkpoints, fp64 in the tests that compare with a dense Hessian). The set is processed
in chunks of `chunk_size` points so that memory stays bounded whatever N is: each chunk
contributes its *sum* divided by N, so every result is that of the mean over all N points
whatever the chunking (never a mean of chunk means, never a sum).

A Hessian-vector product is one forward pass, one backward pass with create_graph and one
backward pass of <grad, v> per chunk (double backward): no Python loop over points.
Lanczos with full reorthogonalisation gives the extreme eigenvalues; Hutchinson's
estimator with Rademacher probes gives the trace, per layer and in total.

The other measures (sharpness, landscape) share the loss, gradient and parameter
helpers defined here, so that "the loss" means the same arithmetic everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GenlabError


def trainable(model: nn.Module) -> tuple[list[str], list[nn.Parameter]]:
    """Names and tensors of the parameters L is differentiated with respect to (requires_grad)."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise GenlabError(f"model {type(model).__name__} has no parameter that requires grad")
    return [name for name, _ in named], [p for _, p in named]


def layer_name(parameter_name: str) -> str:
    """Layer a parameter belongs to: its owning module's path, prefixed with "layer".

    "0.weight" and "0.bias" (index 0 of an nn.Sequential) -> "layer0"; "4.weight" -> "layer4";
    a named path "features.3.weight" -> "layer_features_3"; a parameter held directly by the
    model ("w") -> "layer_w". Names stay valid as a suffix of a measure name.
    """
    path, _, _ = parameter_name.rpartition(".")
    path = (path or parameter_name).replace(".", "_")
    return "layer" + path if path[:1].isdigit() else "layer_" + path


def _check_data(x: torch.Tensor, y: torch.Tensor, chunk_size: int) -> None:
    if len(x) == 0:
        raise GenlabError("evaluation set is empty (x has 0 points)")
    if len(x) != len(y):
        raise GenlabError(f"x has {len(x)} points but y has {len(y)} labels")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise GenlabError(f"chunk_size must be a positive integer, got {chunk_size!r}")


def _chunks(n: int, chunk_size: int) -> Iterator[slice]:
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def _chunk_loss_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum (not mean) of the cross-entropy over one chunk, in the logits' dtype; a scalar."""
    return F.cross_entropy(model(x), y, reduction="sum")  # logits (B, C)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> dict:
    """Mean cross-entropy and accuracy over all of (x, y), no gradient.

    Same arithmetic as genlab.training.evaluate at fp32 (chunk sums accumulated in float64,
    divided by N at the end), so a loss here equals the checkpoint's recorded loss when the
    chunking is the same.
    """
    _check_data(x, y, chunk_size)
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.no_grad():
        for part in _chunks(len(x), chunk_size):
            logits = model(x[part])  # (B, C)
            total += F.cross_entropy(logits, y[part], reduction="sum").double()
            correct += (logits.argmax(1) == y[part]).sum()
    return {"loss": total.item() / len(x), "accuracy": correct.item() / len(x)}


def mean_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000) -> float:
    """L(theta) as a Python float."""
    return evaluate(model, x, y, chunk_size)["loss"]


def loss_and_grad(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 1000
) -> tuple[float, list[torch.Tensor]]:
    """L(theta) and its gradient (one tensor per trainable parameter, shaped like it)."""
    _check_data(x, y, chunk_size)
    model.eval()
    _, params = trainable(model)
    n = len(x)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    grad = [torch.zeros_like(p) for p in params]
    with torch.enable_grad():
        for part in _chunks(n, chunk_size):
            loss = _chunk_loss_sum(model, x[part], y[part])
            total += loss.detach().double()
            for acc, g in zip(grad, torch.autograd.grad(loss / n, params, materialize_grads=True)):
                acc += g
    return total.item() / n, grad


def _chunk_grads(model: nn.Module, params: list[nn.Parameter], x: torch.Tensor, y: torch.Tensor, n: int):
    """Gradient of (chunk loss sum) / n with its graph kept, for double backward."""
    loss = _chunk_loss_sum(model, x, y) / n
    return torch.autograd.grad(loss, params, create_graph=True, materialize_grads=True)


def _grad_dot_backward(grads, params, v, retain_graph: bool = False) -> list[torch.Tensor]:
    """d<grads, v>/d params = H v for the chunk whose gradient `grads` is (v held constant)."""
    dot = sum((g * vi).sum() for g, vi in zip(grads, v))
    if not dot.requires_grad:  # the gradient does not depend on the parameters: H = 0
        return [torch.zeros_like(p) for p in params]
    return list(torch.autograd.grad(dot, params, retain_graph=retain_graph, materialize_grads=True))


def _check_like(v: Sequence[torch.Tensor], names: list[str], params: list[nn.Parameter], what: str) -> None:
    if len(v) != len(params):
        raise GenlabError(f"{what} has {len(v)} tensors but the model has {len(params)} trainable parameters")
    for name, vi, p in zip(names, v, params):
        if tuple(vi.shape) != tuple(p.shape):
            raise GenlabError(f"{what} for parameter {name} has shape {tuple(vi.shape)}, expected {tuple(p.shape)}")


def hvp(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, v: Sequence[torch.Tensor], chunk_size: int = 1000
) -> list[torch.Tensor]:
    """Hessian of L times v; v and the result are lists shaped like the trainable parameters."""
    _check_data(x, y, chunk_size)
    model.eval()
    names, params = trainable(model)
    _check_like(v, names, params, "vector")
    v = [vi.detach().to(device=p.device, dtype=p.dtype) for vi, p in zip(v, params)]
    out = [torch.zeros_like(p) for p in params]
    with torch.enable_grad():
        for part in _chunks(len(x), chunk_size):
            grads = _chunk_grads(model, params, x[part], y[part], len(x))
            for acc, h in zip(out, _grad_dot_backward(grads, params, v)):
                acc += h
    return out


# ---- extreme eigenvalues: Lanczos ------------------------------------------------------------


def _flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])  # (P,)


def _unflat(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for t in like:
        out.append(vector[start : start + t.numel()].view_as(t))
        start += t.numel()
    return out


def lanczos(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    k: int = 3,
    iters: int = 100,
    tol: float = 1e-6,
) -> dict:
    """Extreme eigenvalues of a symmetric operator by Lanczos with full reorthogonalisation.

    matvec maps a (P,) vector to a (P,) vector; start is the (P,) starting vector. All basis
    vectors are kept (iters x P in the vector's dtype: 1.6 GB for 4M fp32 parameters and
    100 iterations) and every new vector is orthogonalised against all of them twice
    ("twice is enough"), so no spurious copies of converged eigenvalues appear.

    Stops after `iters` products, after P (the Krylov space is then the whole space and the
    Ritz values are exact), or when converged: the residual ||H s - theta s|| = beta_m |s_m|
    of each wanted Ritz pair (the k largest and the smallest) is at most
    tol * max|theta|, with at least k + 1 Ritz values. Returns the Ritz values (ascending,
    float64), the number of products in `steps` and `converged`.
    """
    p = start.numel()
    if not isinstance(k, int) or not 1 <= k <= p:
        raise GenlabError(f"number of eigenvalues k must be between 1 and the {p} parameters, got {k!r}")
    if not isinstance(iters, int) or iters < 1:
        raise GenlabError(f"Lanczos iterations must be a positive integer, got {iters!r}")
    m_max = min(iters, p)
    basis = torch.empty((m_max, p), dtype=start.dtype, device=start.device)  # (m, P)
    q = start / start.norm()
    alphas: list[float] = []
    betas: list[float] = []
    ritz = torch.zeros(0, dtype=torch.float64)
    converged = False
    for j in range(m_max):
        basis[j] = q
        w = matvec(q)  # (P,)
        alphas.append(torch.dot(w, q).item())
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = w.norm().item()
        t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if betas:
            off = torch.tensor(betas, dtype=torch.float64)
            t += torch.diag(off, 1) + torch.diag(off, -1)
        ritz, vectors = torch.linalg.eigh(t)  # ascending; (m,), (m, m)
        residual = beta * vectors[-1].abs()  # (m,) residual norm of each Ritz pair
        m = j + 1
        scale = ritz.abs().max().item()
        wanted = [0, *range(max(m - k, 0), m)]
        if m == p or beta == 0.0 or (m > k and all(residual[i].item() <= tol * scale for i in wanted)):
            converged = True
            break
        betas.append(beta)
        q = w / beta
    return {"ritz": ritz.tolist(), "steps": len(alphas), "converged": converged}


def hessian_spectrum(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int = 3,
    iters: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    chunk_size: int = 1000,
) -> dict:
    """The k largest and the smallest Hessian eigenvalue from one Lanczos run.

    Returns {"top": [k floats, descending], "min": float, "steps": Hessian-vector products,
    "converged": bool}. The start vector is Gaussian from a CPU generator seeded with
    `seed`, so the result does not depend on the device's random stream.
    """
    _check_data(x, y, chunk_size)
    _, params = trainable(model)
    n_total = sum(p.numel() for p in params)
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(n_total, generator=generator, dtype=torch.float64)
    start = start.to(device=params[0].device, dtype=params[0].dtype)

    def matvec(vector: torch.Tensor) -> torch.Tensor:
        return _flat(hvp(model, x, y, _unflat(vector, params), chunk_size))

    result = lanczos(matvec, start, k, iters, tol)
    ritz = result["ritz"]
    if len(ritz) < k:
        raise GenlabError(f"Lanczos found {len(ritz)} eigenvalues, fewer than k={k}; raise iters")
    return {"top": ritz[::-1][:k], "min": ritz[0], "steps": result["steps"], "converged": result["converged"]}


def top_eigenvalues(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int = 3,
    iters: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    chunk_size: int = 1000,
) -> list[float]:
    """The k largest (algebraic) Hessian eigenvalues, descending."""
    return hessian_spectrum(model, x, y, k, iters, tol, seed, chunk_size)["top"]


def min_eigenvalue(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    iters: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    chunk_size: int = 1000,
) -> float:
    """The smallest (most negative) Hessian eigenvalue: the other end of the same Lanczos run."""
    return hessian_spectrum(model, x, y, 1, iters, tol, seed, chunk_size)["min"]


# ---- trace: Hutchinson -----------------------------------------------------------------------


def hutchinson_trace(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_probes: int = 100, seed: int = 0, chunk_size: int = 1000
) -> dict:
    """Hutchinson's estimate of tr(H) = E[z^T H z] with Rademacher probes z (entries +-1).

    Returns {"trace", "std_error", "per_layer": {layer: trace}, "per_layer_std_error":
    {layer: std error}, "n_probes"}. Layers are named by layer_name ("layer0", "layer2", ...
    for an nn.Sequential); each layer's estimate is the mean over the same probes of its
    block of z^T H z, so the layers add up to the total: trace is sum(per_layer.values()).
    std_error is the sample standard deviation of the per-probe totals over sqrt(n_probes).

    z^T H z is linear in the chunks, so each chunk's first-order graph is built once and
    serves all probes (one double backward per probe and chunk). The probes are drawn once
    from a CPU generator seeded with `seed` and kept as int8: n_probes x P bytes.
    """
    _check_data(x, y, chunk_size)
    if not isinstance(n_probes, int) or n_probes < 2:
        raise GenlabError(f"Hutchinson needs at least 2 probes for a standard error, got {n_probes!r}")
    model.eval()
    names, params = trainable(model)
    generator = torch.Generator().manual_seed(seed)
    signs = [  # per parameter (n_probes, *shape), +-1 as int8
        (torch.randint(0, 2, (n_probes, *p.shape), generator=generator, dtype=torch.int8) * 2 - 1).to(p.device)
        for p in params
    ]
    blocks = torch.zeros((n_probes, len(params)), dtype=torch.float64, device=params[0].device)  # z_p^T (H z)_p
    with torch.enable_grad():
        for part in _chunks(len(x), chunk_size):
            grads = _chunk_grads(model, params, x[part], y[part], len(x))
            for j in range(n_probes):
                z = [s[j].to(p.dtype) for s, p in zip(signs, params)]
                hz = _grad_dot_backward(grads, params, z, retain_graph=True)
                blocks[j] += torch.stack([(zi * hi).sum().double() for zi, hi in zip(z, hz)])
    layers = [layer_name(name) for name in names]
    order = list(dict.fromkeys(layers))
    member = torch.tensor([[layer == name for name in order] for layer in layers], dtype=torch.float64)  # (params, L)
    per_probe_layer = (blocks.cpu() @ member).tolist()  # (n_probes, L)
    per_layer, per_layer_se = {}, {}
    for i, name in enumerate(order):
        values = [row[i] for row in per_probe_layer]
        per_layer[name] = sum(values) / n_probes
        per_layer_se[name] = _std_error(values)
    totals = [sum(row) for row in per_probe_layer]
    return {
        "trace": sum(per_layer.values()),
        "std_error": _std_error(totals),
        "per_layer": per_layer,
        "per_layer_std_error": per_layer_se,
        "n_probes": n_probes,
    }


def _std_error(values: Sequence[float]) -> float:
    """Standard error of the mean: sample standard deviation (n - 1) over sqrt(n)."""
    n = len(values)
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)
