"""The Hessian's extreme eigenvalues (Lanczos) and its trace (Hutchinson), from Hessian-vector products.

Lanczos with full reorthogonalisation gives the extreme eigenvalues, each with a rigorous
error bound (its Ritz residual) and its own converged flag; Hutchinson's estimator with
Rademacher probes gives the trace, per layer and in total, deflated by the Lanczos basis when
one is at hand (the Krylov part of the trace exactly, Hutchinson only on the rest: the same
products, a fraction of the variance). All take L and its Hessian-vector products from
genlab.measures.loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..errors import GenlabError
from .loss import check_data, chunk_grads, chunks, grad_dot_backward, hvp, layer_names, std_error, trainable


# ---- extreme eigenvalues: Lanczos ------------------------------------------------------------


def _flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])  # (P,)


def _unflat(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for t in like:
        out.append(vector[start : start + t.numel()].view_as(t))
        start += t.numel()
    return out


# Kahan-Parlett's "twice is enough": a vector that keeps less than this fraction of its norm in
# the second orthogonalisation pass lies numerically in the span of the basis.
REORTH_KEEP = 0.5**0.5


def lanczos(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    k: int = 3,
    iters: int = 100,
    tol: float = 1e-3,
    keep_basis: bool = False,
) -> dict:
    """Extreme eigenvalues of a symmetric operator H by Lanczos with full reorthogonalisation.

    matvec maps a (P,) vector to a (P,) vector; start is the (P,) starting vector. All basis
    vectors are kept (iters x P in the vector's dtype: 1.6 GB for 4M fp32 parameters and
    100 iterations) and every new vector is orthogonalised against all of them twice
    ("twice is enough"), so no spurious copies of converged eigenvalues appear.

    After m steps, each Ritz pair (theta, y) has the residual ||H y - theta y|| = beta_m |s_m|
    (s_m: the last entry of its eigenvector of the tridiagonal T_m; exact in exact arithmetic
    with full reorthogonalisation). Its error bound is that residual plus m * eps * max|theta|
    for the recurrence's own rounding (eps of the vector's dtype): for symmetric H some
    eigenvalue lies within ||r|| of theta (Bauer-Fike, Krylov-Weinstein), whatever the rest of
    the spectrum. The sharper ||r||^2 / gap holds only if gap is the distance to the *other
    eigenvalues of H*; Ritz values stand in for them only once every eigenvalue near theta has
    been found, and on a clustered spectrum they are not yet (a Ritz value averaging two close
    eigenvalues has a small residual and a large Ritz gap): that estimate is not a bound, so it
    is not used. Not included: the rounding of matvec itself (fp32 Hessian-vector products).
    The bound is on the distance to the nearest eigenvalue; that the i-th largest Ritz value
    approximates the i-th largest eigenvalue rests on the start vector having a component along
    its eigenvector (true with probability 1 for a random start, but no a-posteriori bound can
    see an eigenvector the Krylov space never met).

    A Ritz value has converged when its bound is at most tol * |theta| (relative accuracy of
    that eigenvalue: tol = 1e-3 means its first three significant digits are right; a value
    near 0 converges only once its bound is below tol times itself). Stops after `iters`
    products, after P (the Krylov space is then the whole space), at a numerically invariant
    subspace (the second orthogonalisation pass removes most of the new vector, REORTH_KEEP:
    the Ritz values are exact up to rounding, still bounded by their residuals), or once every
    wanted Ritz value (the k largest and the smallest) has converged, with at least k + 1 Ritz
    values.

    Returns the Ritz values (ascending, float64) in `ritz` and, per Ritz value, `residual`,
    `error_bound` and `converged` (lists aligned with ritz), the number of products in
    `steps`; with keep_basis, also `basis`: the (steps, P) orthonormal Krylov basis.
    """
    p = start.numel()
    if not isinstance(k, int) or not 1 <= k <= p:
        raise GenlabError(f"number of eigenvalues k must be between 1 and the {p} parameters, got {k!r}")
    if not isinstance(iters, int) or iters < 1:
        raise GenlabError(f"Lanczos iterations must be a positive integer, got {iters!r}")
    if not tol > 0:
        raise GenlabError(f"Lanczos tolerance tol must be positive, got {tol!r}")
    eps = torch.finfo(start.dtype).eps
    m_max = min(iters, p)
    basis = torch.empty((m_max, p), dtype=start.dtype, device=start.device)  # (m, P)
    q = start / start.norm()
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(m_max):
        basis[j] = q
        w = matvec(q)  # (P,)
        alphas.append(torch.dot(w, q).item())
        for _ in range(2):
            before = w.norm().item()
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = w.norm().item()
        # The second pass still removed much: w is rounding noise in the span of the basis, the
        # Krylov space numerically invariant; w / beta would not be orthogonal to it.
        invariant = beta <= REORTH_KEEP * before  # also w = 0
        t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if betas:
            off = torch.tensor(betas, dtype=torch.float64)
            t += torch.diag(off, 1) + torch.diag(off, -1)
        ritz, vectors = torch.linalg.eigh(t)  # ascending; (m,), (m, m)
        m = j + 1
        residual = beta * vectors[-1].abs()  # (m,) ||H y - theta y|| of each Ritz pair
        bound = residual + m * eps * ritz.abs().max()  # (m,)
        converged = bound <= tol * ritz.abs()  # (m,)
        wanted = sorted({0, *range(max(m - k, 0), m)})
        if m == p or invariant or (m > k and bool(converged[wanted].all())):
            break
        betas.append(beta)
        q = w / beta
    result = {
        "ritz": ritz.tolist(),
        "residual": residual.tolist(),
        "error_bound": bound.tolist(),
        "converged": converged.tolist(),
        "steps": len(alphas),
    }
    if keep_basis:
        result["basis"] = basis[: len(alphas)]
    return result


def hessian_spectrum(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int = 3,
    iters: int = 100,
    tol: float = 1e-3,
    seed: int = 0,
    chunk_size: int = 1000,
    keep_basis: bool = False,
) -> dict:
    """The k largest and the smallest Hessian eigenvalue from one Lanczos run.

    Returns {"top": [k floats, descending], "min": float, "top_error_bound": [k floats],
    "min_error_bound": float, "top_converged": [k bools], "min_converged": bool, "converged":
    all of those, "steps": Hessian-vector products}; each bound and flag is lanczos's for that
    value theta (some eigenvalue lambda has |lambda - theta| <= bound; converged: bound <= tol
    |theta|). The start vector is Gaussian from a CPU generator seeded with `seed`, so the
    result does not depend on the device's random stream.

    keep_basis adds what a deflated trace needs (hutchinson_trace's `deflate`): "basis", the
    (steps, P) orthonormal Krylov basis Q, and "basis_blocks", the (steps, tensors) float64
    table of q_j^T (H q_j) restricted to each trainable tensor, recorded from the products
    Lanczos computes anyway (a row sums to alpha_j = q_j^T H q_j).
    """
    check_data(x, y, chunk_size)
    _, params = trainable(model)
    n_total = sum(p.numel() for p in params)
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(n_total, generator=generator, dtype=torch.float64)
    start = start.to(device=params[0].device, dtype=params[0].dtype)
    blocks: list[torch.Tensor] = []  # per product: (tensors,) float64

    def matvec(vector: torch.Tensor) -> torch.Tensor:
        v = _unflat(vector, params)
        product = hvp(model, x, y, v, chunk_size)
        if keep_basis:
            blocks.append(torch.stack([(vi.double() * hi.double()).sum() for vi, hi in zip(v, product)]).cpu())
        return _flat(product)

    result = lanczos(matvec, start, k, iters, tol, keep_basis)
    ritz = result["ritz"]
    if len(ritz) < k:
        why = "raise iters" if result["steps"] == iters else "its Krylov space is invariant: lower k"
        raise GenlabError(f"Lanczos found {len(ritz)} eigenvalues, fewer than k={k}; {why}")
    top = list(range(len(ritz) - 1, len(ritz) - 1 - k, -1))  # indices of the k largest, descending
    found = {
        "top": [ritz[i] for i in top],
        "min": ritz[0],
        "top_error_bound": [result["error_bound"][i] for i in top],
        "min_error_bound": result["error_bound"][0],
        "top_converged": [result["converged"][i] for i in top],
        "min_converged": result["converged"][0],
        "steps": result["steps"],
    }
    found["converged"] = all(found["top_converged"]) and found["min_converged"]
    if keep_basis:
        found["basis"] = result["basis"]
        found["basis_blocks"] = torch.stack(blocks)  # (steps, tensors)
    return found


# ---- trace: Hutchinson -----------------------------------------------------------------------


# Probes are drawn from their own stream, apart from the Lanczos start's: the deflated estimator
# is unbiased only for probes independent of the Krylov basis. (torch seeds a CPU generator with
# the seed's low 32 bits, so the offset is taken modulo 2**32.)
PROBE_SEED_OFFSET = 0x9E3779B9


def probe_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed + PROBE_SEED_OFFSET) % 2**32)


def hutchinson_trace(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_probes: int = 100, seed: int = 0,
                     chunk_size: int = 1000, deflate: dict | None = None) -> dict:
    """Hutchinson's estimate of tr(H) = E[z^T H z] with Rademacher probes z (entries +-1),
    deflated by a Lanczos basis when `deflate` is given.

    Returns {"trace", "std_error", "per_layer": {layer: trace}, "per_layer_std_error":
    {layer: std error}, "n_probes", "deflated": dimension of the deflated subspace (0: plain)}.
    Layers are named by layer_names ("conv1", "dense2", ...); each layer's
    estimate is the mean over the same probes of its block of z^T H z (plus, deflated, its
    exact part), so the layers add up to the total: trace is sum(per_layer.values()).
    std_error is the sample standard deviation of the per-probe totals over sqrt(n_probes):
    the standard error of the reported trace, the exact part having none. Rounding is not in it
    (fp32 products: about 1e-7 of the trace), which matters only when the basis covers the
    Hessian's whole range and the probes see nothing but rounding (bench/README.md).

    deflate: the result of hessian_spectrum(..., keep_basis=True), with its (m, P) orthonormal
    Krylov basis Q and the per-tensor products q_j^T (H q_j) it recorded. With P = I - Q Q^T,

        tr(D H) = sum_j q_j^T D H q_j  +  E[(P z)^T D H (P z)]

    for D the identity or the coordinates of one layer (tr(D H QQ^T) + tr(P D H P) and
    tr(P D H P) = tr(D H P)): the first term is known exactly from the products Lanczos
    already paid for, the second is Hutchinson's, one Hessian-vector product per probe as
    plain Hutchinson. Unbiased for any Q, converged or not; its variance, 2 (||PHP||_F^2 -
    sum_i (PHP)_ii^2), lacks the large eigenvalues the Krylov space caught, which dominate
    plain Hutchinson's 2 (||H||_F^2 - sum_i H_ii^2) for a network's Hessian (a few outliers
    over a bulk near zero). bench/trace.py compares both at the same number of products.

    z^T H z is linear in the chunks, so each chunk's first-order graph is built once and
    serves all probes (one double backward per probe and chunk). The probes are drawn once
    from a CPU generator (probe_generator(seed)) and kept as int8: n_probes x P bytes;
    deflated, Q z is computed once per probe and P z rebuilt per chunk (2 m P flops).
    """
    check_data(x, y, chunk_size)
    if not isinstance(n_probes, int) or n_probes < 2:
        raise GenlabError(f"Hutchinson needs at least 2 probes for a standard error, got {n_probes!r}")
    model.eval()
    names, params = trainable(model)
    generator = probe_generator(seed)
    signs = [  # per parameter (n_probes, *shape), +-1 as int8
        (torch.randint(0, 2, (n_probes, *p.shape), generator=generator, dtype=torch.int8) * 2 - 1).to(p.device)
        for p in params
    ]

    def probe(j: int) -> torch.Tensor:  # (P,) in the parameters' dtype
        return torch.cat([s[j].reshape(-1) for s in signs]).to(params[0].dtype)

    fixed = torch.zeros(len(params), dtype=torch.float64)  # sum_j q_j^T (H q_j) per tensor
    deflated = 0
    if deflate is not None:
        basis = deflate["basis"].to(device=params[0].device, dtype=params[0].dtype)  # (m, P)
        n_total = sum(p.numel() for p in params)
        if basis.shape[1] != n_total:
            raise GenlabError(f"deflation basis has vectors of {basis.shape[1]} entries, the model {n_total} parameters")
        fixed = deflate["basis_blocks"].sum(0).double().cpu()
        deflated = basis.shape[0]
        coefficients = torch.stack([basis @ probe(j) for j in range(n_probes)])  # (n_probes, m): Q z

    blocks = torch.zeros((n_probes, len(params)), dtype=torch.float64, device=params[0].device)  # z_p^T (H z)_p
    with torch.enable_grad():
        for part in chunks(len(x), chunk_size):
            grads = chunk_grads(model, params, x[part], y[part], len(x))
            for j in range(n_probes):
                if deflated:
                    z = _unflat(probe(j) - basis.T @ coefficients[j], params)  # P z
                else:
                    z = [s[j].to(p.dtype) for s, p in zip(signs, params)]
                hz = grad_dot_backward(grads, params, z, retain_graph=True)
                blocks[j] += torch.stack([(zi * hi).sum().double() for zi, hi in zip(z, hz)])
    named = layer_names(model)
    layers = [named[name] for name in names]
    order = list(dict.fromkeys(layers))
    member = torch.tensor([[layer == name for name in order] for layer in layers], dtype=torch.float64)  # (params, L)
    per_probe_layer = (blocks.cpu() @ member).tolist()  # (n_probes, L)
    fixed_layer = (fixed @ member).tolist()  # (L,)
    per_layer, per_layer_se = {}, {}
    for i, name in enumerate(order):
        values = [row[i] for row in per_probe_layer]
        per_layer[name] = fixed_layer[i] + sum(values) / n_probes
        per_layer_se[name] = std_error(values)
    totals = [sum(row) for row in per_probe_layer]
    return {
        "trace": sum(per_layer.values()),
        "std_error": std_error(totals),
        "per_layer": per_layer,
        "per_layer_std_error": per_layer_se,
        "n_probes": n_probes,
        "deflated": deflated,
    }
