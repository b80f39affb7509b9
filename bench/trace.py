"""Hessian trace estimators at the same number of Hessian-vector products (HVPs), against the exact trace.

    .venv/bin/python bench/trace.py --tiny                 # CI smoke test: < 1 min on 2 CPU cores
    .venv/bin/python bench/trace.py [--n 1000] [--iters 15] [--probes 6] [--seeds 20] [--data-root DIR]

The `hessian` measure kind runs Lanczos (iters HVPs) for the eigenvalues and then estimates the
trace with `probes` more. On one small trained network (width_cnn w=2, 2756 parameters; trained
for a few hundred Adam steps on synthetic teacher-labelled images, or on MNIST with --data-root)
it compares, over --seeds seeds:

    plain             Hutchinson with `probes` probes: the measure's trace before deflation
                      (same total cost for the measure kind: Lanczos runs anyway)
    plain, all HVPs   Hutchinson with iters + probes probes: every HVP spent on the trace
    Hutch++           Meyer, Musco, Musco & Woodruff (2021) with iters + probes HVPs: a third
                      sketch S, Q = orth(H S), tr(Q^T H Q) (a third), Hutchinson on
                      (I - QQ^T) H (I - QQ^T) with the rest
    deflated          genlab.measures.spectrum.hutchinson_trace(deflate=...): the Lanczos basis'
                      part exactly, Hutchinson on the rest with `probes` probes

and prints, per estimator: HVPs, the mean reported standard error, the root-mean-square actual
error against the exact trace (sum of the Hessian's diagonal, by forward-over-reverse
torch.func in float64), how many estimates lie within 2 standard errors, and the mean standard
error over plain's. Lanczos runs its full iters (tol 1e-12) so that the HVP count is exact.
Writes nothing (no file, no bytecode).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # nothing written into the repository, not even __pycache__

import argparse  # noqa: E402
import copy  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from genlab.measures.loss import flat_loss, hvp, std_error, trainable  # noqa: E402
from genlab.measures.spectrum import hessian_spectrum, hutchinson_trace, probe_generator  # noqa: E402
from genlab.models import build_model  # noqa: E402


def synthetic_data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images labelled by a fixed random linear teacher: learnable, so training shapes the Hessian."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g)  # (n, 1, 28, 28)
    teacher = torch.randn(28 * 28, 10, generator=g)
    return x, (x.reshape(n, -1) - 0.5).matmul(teacher).argmax(1)


def mnist_data(root: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    from genlab.mnist import load_split, to_float

    split = load_split(root, "train")
    return to_float(split.images[:n]), split.labels[:n]


def trained_model(x: torch.Tensor, y: torch.Tensor, steps: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("width_cnn", 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        batch = torch.randint(0, len(x), (64,), generator=g)
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    return model.eval()


def exact_trace(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, block: int = 16) -> float:
    """Sum of the Hessian's diagonal in float64: e_i^T H e_i for every i, `block` unit vectors per vmap."""
    model = copy.deepcopy(model).double()
    for module in model.modules():
        if hasattr(module, "inplace"):
            module.inplace = False  # torch.func's forward mode and in-place ReLU do not mix
    loss, flat = flat_loss(model, x.double(), y)

    def product(v):  # H v, forward over reverse
        return torch.func.jvp(torch.func.grad(loss), (flat,), (v,))[1]

    total = 0.0
    eye = torch.eye(len(flat), dtype=torch.float64)
    for start in range(0, len(flat), block):
        rows = eye[start : start + block]  # (b, P)
        total += (torch.func.vmap(product)(rows) * rows).sum().item()
    return total


def hutch_plus_plus(model, x, y, hvps: int, seed: int) -> dict:
    """Hutch++ with `hvps` products: hvps // 3 sketch vectors, as many for Q^T H Q, the rest Hutchinson."""
    _, params = trainable(model)
    n_total = sum(p.numel() for p in params)

    def matvec(v: torch.Tensor) -> torch.Tensor:  # (P,) -> (P,)
        parts, start = [], 0
        for p in params:
            parts.append(v[start : start + p.numel()].view_as(p))
            start += p.numel()
        return torch.cat([t.reshape(-1) for t in hvp(model, x, y, parts, len(x))])

    g = probe_generator(seed)
    s = hvps // 3
    r = hvps - 2 * s

    def rademacher(count: int) -> torch.Tensor:  # (P, count)
        return (torch.randint(0, 2, (n_total, count), generator=g) * 2 - 1).to(params[0].dtype)

    sketch = torch.stack([matvec(v) for v in rademacher(s).T], 1)  # (P, s): H S
    q, _ = torch.linalg.qr(sketch)  # (P, s)
    exact_part = sum(torch.dot(qi, matvec(qi)).item() for qi in q.T)
    probes = rademacher(r)
    probes = probes - q @ (q.T @ probes)  # (P, r): (I - QQ^T) G
    values = [torch.dot(z, matvec(z)).item() for z in probes.T]
    return {"trace": exact_part + sum(values) / r, "std_error": std_error(values), "hvps": 2 * s + r}


def run(x, y, iters: int, probes: int, seeds: int, train_steps: int) -> list[dict]:
    model = trained_model(x, y, train_steps)
    exact = exact_trace(model, x, y)
    results = {name: [] for name in ("plain", "plain, all HVPs", "Hutch++", "deflated")}
    for seed in range(seeds):
        plain = hutchinson_trace(model, x, y, probes, seed, len(x))
        results["plain"].append((plain["trace"], plain["std_error"], probes))
        every = hutchinson_trace(model, x, y, iters + probes, seed, len(x))
        results["plain, all HVPs"].append((every["trace"], every["std_error"], iters + probes))
        pp = hutch_plus_plus(model, x, y, iters + probes, seed)
        results["Hutch++"].append((pp["trace"], pp["std_error"], pp["hvps"]))
        spectrum = hessian_spectrum(model, x, y, 1, iters, 1e-12, seed, len(x), keep_basis=True)
        deflated = hutchinson_trace(model, x, y, probes, seed, len(x), deflate=spectrum)
        results["deflated"].append((deflated["trace"], deflated["std_error"], spectrum["steps"] + probes))
    plain_se = statistics.mean(se for _, se, _ in results["plain"])
    table = []
    for name, found in results.items():
        mean_se = statistics.mean(se for _, se, _ in found)
        table.append({
            "estimator": name,
            "hvps": statistics.mean(h for _, _, h in found),
            "mean_se": mean_se,
            "rms_error": math.sqrt(statistics.mean((t - exact) ** 2 for t, _, _ in found)),
            "within_2se": sum(abs(t - exact) <= 2 * se for t, se, _ in found),
            "se_ratio": mean_se / plain_se,
        })
    return exact, table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="64 images, 100 training steps: CI smoke test")
    parser.add_argument("--n", type=int, default=1000, help="images the loss averages over (measures.n_points)")
    parser.add_argument("--iters", type=int, default=15, help="Lanczos steps (measures.hessian.iters; quick preset: 15)")
    parser.add_argument("--probes", type=int, default=6, help="trace probes (measures.hessian.probes; quick preset: 6)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--data-root", help="folder holding MNIST/raw/ (default: synthetic images)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.n, args.train_steps = 64, 100
    torch.set_num_threads(1)  # as a measure job on a shared machine
    t0 = time.perf_counter()
    x, y = mnist_data(args.data_root, args.n) if args.data_root else synthetic_data(args.n)
    exact, table = run(x, y, args.iters, args.probes, args.seeds, args.train_steps)
    data = f"MNIST ({args.data_root})" if args.data_root else "synthetic"
    print(f"width_cnn w=2, {args.n} {data} images, {args.train_steps} Adam steps; iters {args.iters}, "
          f"probes {args.probes}, {args.seeds} seeds; exact trace {exact:.6g}")
    print(f"{'estimator':<16} {'HVPs':>5} {'mean SE':>10} {'RMS error':>10} {'|err|<=2SE':>10} {'SE/plain':>9}")
    for r in table:
        print(f"{r['estimator']:<16} {r['hvps']:>5.0f} {r['mean_se']:>10.4g} {r['rms_error']:>10.4g} "
              f"{r['within_2se']:>7}/{args.seeds:<2} {r['se_ratio']:>9.3f}")
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
