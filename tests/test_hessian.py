"""Hessian measures against the dense Hessian (torch.func) of a tiny net: 119 parameters, 6x6 inputs."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import GenlabError
from genlab.measures.loss import hvp, layer_name, trainable
from genlab.measures.spectrum import hessian_spectrum, hutchinson_trace


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
    names, params = trainable(model)
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def loss(vector):
        tensors, start = {}, 0
        for name, p in zip(names, params):
            tensors[name] = vector[start : start + p.numel()].view_as(p)
            start += p.numel()
        return F.cross_entropy(torch.func.functional_call(model, tensors, (x,)), y)

    return torch.func.hessian(loss)(flat)


@pytest.fixture(scope="module")
def problem():
    model, (x, y) = tiny_net(), tiny_data(100)  # Hessian rank 74 of 119: Lanczos converges before exhausting it
    h = dense_hessian(model, x, y)
    return model, x, y, h, torch.linalg.eigvalsh(h)  # ascending


def test_top_and_min_eigenvalues_match_dense_hessian(problem):
    model, x, y, _, eig = problem
    spectrum = hessian_spectrum(model, x, y, k=3, iters=80, chunk_size=15)
    top = spectrum["top"]
    assert top == sorted(top, reverse=True)
    assert torch.allclose(torch.tensor(top, dtype=torch.float64), eig.flip(0)[:3], rtol=1e-4, atol=0)
    smallest = spectrum["min"]
    assert abs(smallest - eig[0].item()) <= 1e-4 * abs(eig[0].item())
    assert eig[0] < 0  # a ReLU net off a minimum: the test is about a negative eigenvalue


def test_lanczos_reports_convergence_and_is_deterministic(problem):
    model, x, y, _, eig = problem
    first = hessian_spectrum(model, x, y, k=2, iters=100, seed=3)
    assert first["converged"] and first["steps"] <= 100
    assert first == hessian_spectrum(model, x, y, k=2, iters=100, seed=3)
    short = hessian_spectrum(model, x, y, k=2, iters=3, seed=3)
    assert not short["converged"] and short["steps"] == 3


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
    assert list(result["per_layer"]) == ["layer0", "layer3"]
    assert sum(result["per_layer"].values()) == result["trace"]
    diagonal = torch.diagonal(h)
    for (name, estimate), block in zip(result["per_layer"].items(), (diagonal[:20], diagonal[20:])):
        assert abs(estimate - block.sum().item()) <= 3 * result["per_layer_std_error"][name]
    assert result == hutchinson_trace(model, x, y, n_probes=60, seed=0, chunk_size=17)


def test_hutchinson_does_not_depend_on_chunking(problem):
    model, x, y, _, _ = problem
    a = hutchinson_trace(model, x, y, n_probes=4, seed=5, chunk_size=40)
    b = hutchinson_trace(model, x, y, n_probes=4, seed=5, chunk_size=11)
    assert a["trace"] == pytest.approx(b["trace"], rel=1e-10)


def test_layer_names():
    assert layer_name("0.weight") == layer_name("0.bias") == "layer0"
    assert layer_name("features.3.weight") == "layer_features_3"
    assert layer_name("w") == "layer_w"


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
