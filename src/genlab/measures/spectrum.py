"""The Hessian's extreme eigenvalues (Lanczos) and its trace (Hutchinson), from Hessian-vector products.

Lanczos with full reorthogonalisation gives the extreme eigenvalues; Hutchinson's estimator
with Rademacher probes gives the trace, per layer and in total. Both take L and its
Hessian-vector products from genlab.measures.loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..errors import GenlabError
from .loss import check_data, chunk_grads, chunks, grad_dot_backward, hvp, layer_name, std_error, trainable


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
    check_data(x, y, chunk_size)
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
    check_data(x, y, chunk_size)
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
        for part in chunks(len(x), chunk_size):
            grads = chunk_grads(model, params, x[part], y[part], len(x))
            for j in range(n_probes):
                z = [s[j].to(p.dtype) for s, p in zip(signs, params)]
                hz = grad_dot_backward(grads, params, z, retain_graph=True)
                blocks[j] += torch.stack([(zi * hi).sum().double() for zi, hi in zip(z, hz)])
    layers = [layer_name(name) for name in names]
    order = list(dict.fromkeys(layers))
    member = torch.tensor([[layer == name for name in order] for layer in layers], dtype=torch.float64)  # (params, L)
    per_probe_layer = (blocks.cpu() @ member).tolist()  # (n_probes, L)
    per_layer, per_layer_se = {}, {}
    for i, name in enumerate(order):
        values = [row[i] for row in per_probe_layer]
        per_layer[name] = sum(values) / n_probes
        per_layer_se[name] = std_error(values)
    totals = [sum(row) for row in per_probe_layer]
    return {
        "trace": sum(per_layer.values()),
        "std_error": std_error(totals),
        "per_layer": per_layer,
        "per_layer_std_error": per_layer_se,
        "n_probes": n_probes,
    }

