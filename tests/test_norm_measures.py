"""Measure kind norms against independent computations: dense matrices, enumerated paths, numpy margins."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.measures import norms
from genlab.measures import weight_norms as wn
from helpers import fixed_start_context, zoo_options

pytestmark = pytest.mark.usefixtures("one_thread")


def dense_matrix(operator, input_shape) -> torch.Tensor:
    """The matrix of a linear map, column j = operator(e_j) over the basis of inputs shaped input_shape."""
    n = math.prod(input_shape)
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *input_shape)
    with torch.no_grad():
        return operator(basis).reshape(n, -1).T


@pytest.mark.parametrize("options", [dict(), dict(stride=2), dict(padding=1), dict(stride=2, padding=1)])
def test_conv_operator_norm_is_the_largest_singular_value_of_its_dense_matrix(options):
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, bias=True, **options).double()  # the bias is no part of the linear operator
    shape = (2, 7, 6)
    weight_only = lambda v: torch.nn.functional.conv2d(v, conv.weight, stride=conv.stride, padding=conv.padding)
    exact = torch.linalg.matrix_norm(dense_matrix(weight_only, shape), ord=2).item()
    found = wn.conv_operator_norm(conv, shape, iters=2000, tol=1e-12)
    assert found["value"] == pytest.approx(exact, rel=1e-6)
    reshaped = torch.linalg.matrix_norm(conv.weight.detach().reshape(3, -1), ord=2).item()
    assert abs(reshaped - exact) > 1e-3 * exact  # the reshaped kernel's norm is another number


def tiny_mlp() -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 2)).double()


def test_path_norm_is_the_sum_over_enumerated_paths_of_squared_weights():
    net = tiny_mlp()
    w = [m.weight.detach().numpy() for m in net if isinstance(m, nn.Linear)]
    b = [m.bias.detach().numpy() for m in net if isinstance(m, nn.Linear)]
    total = 0.0
    # Paths from an input unit i through hidden units j, k to output o; a bias is a path's source too.
    for i, j, k, o in itertools.product(range(3), range(4), range(2), range(2)):
        total += (w[0][j, i] * w[1][k, j] * w[2][o, k]) ** 2
    for j, k, o in itertools.product(range(4), range(2), range(2)):
        total += (b[0][j] * w[1][k, j] * w[2][o, k]) ** 2
    for k, o in itertools.product(range(2), range(2)):
        total += (b[1][k] * w[2][o, k]) ** 2
    total += sum(b[2] ** 2)
    assert wn.path_norm(net, torch.zeros(5, 3, dtype=torch.float64)) == pytest.approx(total, rel=1e-12)


def test_margin_percentile_is_numpys_on_the_logit_differences():
    torch.manual_seed(2)
    net = nn.Linear(4, 3).double()
    x, y = torch.randn(50, 4, dtype=torch.float64), torch.randint(0, 3, (50,))
    logits = (x.numpy() @ net.weight.detach().numpy().T) + net.bias.detach().numpy()
    correct = logits[np.arange(50), y.numpy()]
    masked = logits.copy()
    masked[np.arange(50), y.numpy()] = -np.inf
    margins = correct - masked.max(axis=1)
    assert wn.margins(net, x, y, chunk_size=7).numpy() == pytest.approx(margins, rel=1e-12)
    assert wn.margin_percentile(net, x, y, 10) == pytest.approx(np.percentile(margins, 10), rel=1e-12)


def small_cnn() -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(2 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 3),
    ).double()


def test_layers_are_named_by_kind_and_rank():
    assert [name for name, _ in wn.weighted_layers(small_cnn())] == ["conv1", "conv2", "dense1", "dense2"]


def test_the_norms_kind_writes_jiangs_formulas():
    net = small_cnn()
    start = {k: v + 0.5 for k, v in net.state_dict().items()}
    torch.manual_seed(4)
    x, y = torch.randn(40, 1, 8, 8, dtype=torch.float64), torch.randint(0, 3, (40,))
    with torch.no_grad():  # a margin that is positive at the 10th percentile: labels the net's own predictions
        y = net(x).argmax(1)
    context = fixed_start_context(zoo_options(n_points=40), start)
    rows = {r["measure"]: r for r in norms.run(net, (x, y), context)}
    assert sorted(rows) == sorted(norms.names(context.options) + [f"norms_spectral_{n}" for n in ("conv1", "conv2", "dense1", "dense2")])
    weights = [m.weight.detach() for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    fro = [w.norm().item() ** 2 for w in weights]
    # Each layer's operator norm from its dense matrix on its actual input (8x8, then 6x6).
    shapes = [(1, 8, 8), (2, 6, 6)]
    spectral = [torch.linalg.matrix_norm(dense_matrix(lambda v, w=w: torch.nn.functional.conv2d(v, w), s), ord=2).item()
                for w, s in zip(weights[:2], shapes)]
    spectral += [torch.linalg.matrix_norm(w, ord=2).item() for w in weights[2:]]
    with torch.no_grad():
        logits = net(x)
        sorted_logits = logits.sort(dim=1).values
        gamma = np.percentile((sorted_logits[:, -1] - sorted_logits[:, -2]).numpy(), 10)  # y is the argmax
    expect = {
        "inverse_margin": 1 / gamma**2,
        "spectral_product": math.prod(s**2 for s in spectral),
        "frobenius_product": math.prod(fro),
        "frobenius_sum": 4 * math.prod(fro) ** 0.25,
        "dist_init": 0.25 * sum(w.numel() for w in weights),
        "param": sum(fro),
    }
    expect.update({f"{k}_over_margin": expect[k] / gamma**2 for k in ("spectral_product", "frobenius_product")})
    for measure, value in expect.items():
        assert rows[f"norms_{measure}"]["value"] == pytest.approx(value, rel=1e-6), measure
    for layer, value in zip(("conv1", "conv2", "dense1", "dense2"), spectral):
        assert rows[f"norms_spectral_{layer}"]["value"] == pytest.approx(value, rel=1e-6), layer
    assert rows["norms_path_over_margin"]["value"] == pytest.approx(rows["norms_path"]["value"] / gamma**2, rel=1e-12)
    assert rows["norms_spectral_conv1"]["converged"] and rows["norms_spectral_dense1"]["converged"] is None


def test_a_negative_margin_percentile_gives_nan_not_a_bound():
    net = small_cnn()
    x = torch.randn(20, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        wrong = (net(x).argmax(1) + 1) % 3  # every point misclassified
    rows = {r["measure"]: r["value"] for r in norms.run(net, (x, wrong), fixed_start_context(zoo_options(), net.state_dict()))}
    assert math.isnan(rows["norms_inverse_margin"]) and math.isnan(rows["norms_path_over_margin"])
    assert rows["norms_path"] > 0
