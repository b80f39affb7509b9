"""Hessian measures against the dense Hessian (torch.func) of a tiny net (119 parameters, 6x6 inputs),
and Lanczos' error bounds against a matrix with a known, clustered spectrum."""

import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.measures import hessian
from genlab.measures.context import MeasureContext
from genlab.models import build_model
from genlab.measures.loss import flat_loss, hvp, layer_names, trainable
from genlab.measures.spectrum import hessian_spectrum, hutchinson_trace, lanczos


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_net(inplace: bool = False, dtype=torch.float64) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(inplace=inplace),  # (B, 2, 4, 4)
        nn.Flatten(),
        nn.Linear(32, 3),  # (B, 3)
    )
    return net.to(dtype).eval()


def tiny_data(n: int = 40, dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 6, 6, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def dense_hessian(model, x, y) -> torch.Tensor:
    """(P, P) Hessian of the mean cross-entropy by torch.func, parameters flattened in order."""
    loss, flat = flat_loss(model, x, y)
    return torch.func.hessian(loss)(flat)


@pytest.fixture(scope="module")
def problem():
    model, (x, y) = tiny_net(), tiny_data(100)  # Hessian rank 74 of 119: Lanczos converges before exhausting it
    h = dense_hessian(model, x, y)
    return model, x, y, h, torch.linalg.eigvalsh(h)  # ascending


def test_top_and_min_eigenvalues_match_dense_hessian(problem):
    model, x, y, _, eig = problem
    spectrum = hessian_spectrum(model, x, y, k=3, iters=80, tol=1e-4, chunk_size=15)
    top = spectrum["top"]
    assert top == sorted(top, reverse=True)
    assert torch.allclose(torch.tensor(top, dtype=torch.float64), eig.flip(0)[:3], rtol=1e-4, atol=0)
    smallest = spectrum["min"]
    assert abs(smallest - eig[0].item()) <= 1e-4 * abs(eig[0].item())
    assert eig[0] < 0  # a ReLU net off a minimum: the test is about a negative eigenvalue
    # Each eigenvalue's own bound holds and decides its own flag.
    assert spectrum["converged"] == (all(spectrum["top_converged"]) and spectrum["min_converged"])
    for value, bound, converged, exact in zip(
        [*top, smallest], [*spectrum["top_error_bound"], spectrum["min_error_bound"]],
        [*spectrum["top_converged"], spectrum["min_converged"]], [*eig.flip(0)[:3].tolist(), eig[0].item()],
    ):
        assert abs(value - exact) <= bound and converged == (bound <= 1e-4 * abs(value))


def test_lanczos_reports_convergence_and_is_deterministic(problem):
    model, x, y, _, eig = problem
    first = hessian_spectrum(model, x, y, k=2, iters=100, seed=3)
    assert first["converged"] and first["steps"] <= 100
    assert first == hessian_spectrum(model, x, y, k=2, iters=100, seed=3)
    short = hessian_spectrum(model, x, y, k=2, iters=3, seed=3)
    assert not short["converged"] and short["steps"] == 3


# ---- Lanczos' bounds on a known spectrum ------------------------------------------------------


def clustered(n: int = 60, seed: int = 0):
    """H = Q diag(lambda) Q^T with a clustered top, lambda = 10, 9.99, 9.98, then 5 ... -1; and a start vector."""
    g = torch.Generator().manual_seed(seed)
    lam = torch.tensor([10.0, 9.99, 9.98, *torch.linspace(5, -1, n - 3).tolist()], dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    return q @ torch.diag(lam) @ q.T, torch.randn(n, generator=g, dtype=torch.float64)


def test_lanczos_bound_holds_at_every_step_and_converged_means_right_to_tol():
    h, start = clustered()
    exact = torch.linalg.eigvalsh(h)  # ascending
    tol, wanted = 1e-3, [0, -3, -2, -1]  # the smallest and the k = 3 largest

    def run(iters):
        return lanczos(lambda v: h @ v, start, k=3, iters=iters, tol=tol)

    done = run(60)
    assert done["steps"] < 60  # stopped on convergence, before exhausting the space
    for iters in range(1, done["steps"] + 1):
        found = run(iters)
        assert found["steps"] == iters
        ritz = torch.tensor(found["ritz"], dtype=torch.float64)
        bound = torch.tensor(found["error_bound"], dtype=torch.float64)
        nearest = (ritz[:, None] - exact[None, :]).abs().min(1).values  # true error of each Ritz value
        assert (nearest <= bound).all(), iters
        assert (torch.tensor(found["residual"], dtype=torch.float64) <= bound).all()
        assert found["converged"] == (bound <= tol * ritz.abs()).tolist()
    assert not any(run(5)["converged"][i] for i in wanted)  # too few steps: none of them
    assert not all(run(done["steps"] - 1)["converged"][i] for i in wanted)  # else it would have stopped there
    assert all(done["converged"][i] for i in wanted)
    top, smallest = torch.tensor(done["ritz"][-3:], dtype=torch.float64), done["ritz"][0]
    assert torch.allclose(top, exact[-3:], rtol=tol, atol=0)  # the cluster resolved, each value to tol
    assert abs(smallest - exact[0].item()) <= tol * abs(exact[0].item())


def test_lanczos_stops_at_an_invariant_subspace_with_an_orthonormal_basis(problem):
    """fp32: once the start vector's Krylov space is exhausted (H has rank 74 of 119), the next vector
    is rounding noise in that space; continuing would lose orthogonality (and repeat eigenvalues)."""
    model, x, y, h, eig = problem
    fp32 = tiny_net(dtype=torch.float32)
    spectrum = hessian_spectrum(fp32, x.float(), y, k=2, iters=119, tol=1e-12, keep_basis=True)
    basis = spectrum["basis"].double()  # (steps, 119)
    assert spectrum["steps"] < 119 and not spectrum["converged"]  # tol 1e-12 is beyond fp32
    assert (basis @ basis.T - torch.eye(len(basis), dtype=torch.float64)).abs().max() < 1e-5
    assert torch.allclose(torch.tensor(spectrum["top"], dtype=torch.float64), eig.flip(0)[:2], rtol=1e-4, atol=0)
    # The whole Krylov space deflated: the trace is its exact part, the probes see rounding only.
    trace = hutchinson_trace(fp32, x.float(), y, n_probes=3, deflate=spectrum)
    assert trace["deflated"] == spectrum["steps"]
    assert trace["trace"] == pytest.approx(torch.trace(h).item(), rel=1e-4) and trace["std_error"] < 1e-5


def test_chunked_hvp_equals_unchunked_and_dense_product(problem):
    model, x, y, h, _ = problem
    _, params = trainable(model)
    g = torch.Generator().manual_seed(2)
    v = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
    whole = torch.cat([t.reshape(-1) for t in hvp(model, x, y, v, chunk_size=1000)])
    assert torch.allclose(whole, h @ torch.cat([t.reshape(-1) for t in v]), rtol=1e-10, atol=1e-12)
    for chunk in (7, 13, 99):  # none divides 100
        chunked = torch.cat([t.reshape(-1) for t in hvp(model, x, y, v, chunk_size=chunk)])
        assert torch.allclose(chunked, whole, rtol=1e-10, atol=1e-13)


def test_hvp_works_through_inplace_relu_in_fp32(problem):
    model, x, y, h, _ = problem
    fp32 = tiny_net(inplace=True, dtype=torch.float32)
    _, params = trainable(fp32)
    v = [torch.ones_like(p) for p in params]
    out = hvp(fp32, x.float(), y, v, chunk_size=9)
    assert all(t.dtype == torch.float32 for t in out)
    expected = h @ torch.ones(h.shape[0], dtype=torch.float64)
    assert torch.allclose(torch.cat([t.reshape(-1) for t in out]).double(), expected, rtol=1e-4, atol=1e-5)


def test_hutchinson_trace_within_three_standard_errors_and_layers_add_up(problem):
    model, x, y, h, _ = problem
    result = hutchinson_trace(model, x, y, n_probes=60, seed=0, chunk_size=17)
    exact = torch.trace(h).item()
    assert abs(result["trace"] - exact) <= 3 * result["std_error"]
    assert list(result["per_layer"]) == ["conv1", "dense1"]
    assert sum(result["per_layer"].values()) == result["trace"]
    diagonal = torch.diagonal(h)
    for (name, estimate), block in zip(result["per_layer"].items(), (diagonal[:20], diagonal[20:])):
        assert abs(estimate - block.sum().item()) <= 3 * result["per_layer_std_error"][name]
    assert result == hutchinson_trace(model, x, y, n_probes=60, seed=0, chunk_size=17)


def test_deflated_trace_is_within_its_standard_errors_and_layers_add_up(problem):
    model, x, y, h, _ = problem
    exact, diagonal = torch.trace(h).item(), torch.diagonal(h)
    for seed in range(6):
        spectrum = hessian_spectrum(model, x, y, k=2, iters=10, tol=1e-12, seed=seed, keep_basis=True)
        result = hutchinson_trace(model, x, y, n_probes=6, seed=seed, chunk_size=17, deflate=spectrum)
        assert result["deflated"] == 10 and result["n_probes"] == 6
        assert abs(result["trace"] - exact) <= 4 * result["std_error"]  # t with 5 dof: |t| > 4 has p = 0.01
        assert list(result["per_layer"]) == ["conv1", "dense1"]
        assert sum(result["per_layer"].values()) == result["trace"]
        for (name, estimate), block in zip(result["per_layer"].items(), (diagonal[:20], diagonal[20:])):
            assert abs(estimate - block.sum().item()) <= 4 * result["per_layer_std_error"][name]


def test_deflation_at_least_halves_the_standard_error_at_the_same_products(problem):
    """10 Lanczos steps + 6 probes against plain Hutchinson with all 16 products as probes."""
    model, x, y, _, _ = problem
    deflated, plain = [], []
    for seed in range(6):
        spectrum = hessian_spectrum(model, x, y, k=2, iters=10, tol=1e-12, seed=seed, keep_basis=True)
        deflated.append(hutchinson_trace(model, x, y, n_probes=6, seed=seed, deflate=spectrum)["std_error"])
        plain.append(hutchinson_trace(model, x, y, n_probes=16, seed=seed)["std_error"])
    assert sum(deflated) <= 0.5 * sum(plain)


def test_hessian_rows_carry_each_bound_and_the_trace_its_standard_error(problem):
    model, x, y, _, eig = problem
    options = {"measures": ["hessian"], "n_points": 100, "seed": 0, "hessian": {"k": 2, "iters": 7, "probes": 4, "tol": 1e-3}}
    context = MeasureContext(cfg=None, options=options, seed=0, chunk_size=30, n_train=100, subset=None)
    rows = {r["measure"]: r for r in hessian.run(model, (x, y), context)}
    assert list(rows) == ["hessian_eig1", "hessian_eig2", "hessian_eig_min", "hessian_trace", "hessian_trace_conv1",
                          "hessian_trace_dense1"]
    for name, exact in (("hessian_eig1", eig[-1]), ("hessian_eig2", eig[-2]), ("hessian_eig_min", eig[0])):
        r = rows[name]
        assert r["steps"] == 7 and r["error_bound"] >= abs(r["value"] - exact.item())
        assert r["converged"] == (r["error_bound"] <= 1e-3 * abs(r["value"]))
    # Each flag is its own: after 7 steps the two largest are right to 1e-3, the smallest (in the bulk) not yet.
    assert rows["hessian_eig1"]["converged"] and rows["hessian_eig2"]["converged"] and not rows["hessian_eig_min"]["converged"]
    trace = rows["hessian_trace"]
    assert trace["std_error"] > 0 and trace["converged"] is None and trace["error_bound"] is None
    assert trace["value"] == rows["hessian_trace_conv1"]["value"] + rows["hessian_trace_dense1"]["value"]


def test_hutchinson_does_not_depend_on_chunking(problem):
    model, x, y, _, _ = problem
    a = hutchinson_trace(model, x, y, n_probes=4, seed=5, chunk_size=40)
    b = hutchinson_trace(model, x, y, n_probes=4, seed=5, chunk_size=11)
    assert a["trace"] == pytest.approx(b["trace"], rel=1e-10)


def test_layer_names_count_each_kind_in_order():
    names = layer_names(build_model("deep_cnn"))
    assert sorted(set(names.values())) == ["conv1", "conv2", "conv3", "dense1", "dense2"]
    assert names["0.weight"] == names["0.bias"] == "conv1"
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), nn.Linear(2, 1))
    assert layer_names(nested) == {"0.0.weight": "dense1", "0.0.bias": "dense1", "0.1.weight": "batchnorm1d1",
                                   "0.1.bias": "batchnorm1d1", "1.weight": "dense2", "1.bias": "dense2"}
    assert layer_names(nn.Linear(2, 1)) == {"weight": "dense1", "bias": "dense1"}  # the model itself is the layer


def test_errors_name_the_culprit(problem):
    model, x, y, _, _ = problem
    with pytest.raises(GenlabError, match="k must be between 1 and the 119"):
        hessian_spectrum(model, x, y, k=200)
    with pytest.raises(GenlabError, match="3 labels"):
        hvp(model, x, y[:3], [torch.zeros_like(p) for p in model.parameters()])
    wrong = [torch.zeros_like(p) for p in model.parameters()]
    wrong[1] = torch.zeros(5)
    with pytest.raises(GenlabError, match=r"parameter 0.bias has shape \(5,\)"):
        hvp(model, x, y, wrong)
