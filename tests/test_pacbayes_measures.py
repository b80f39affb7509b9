"""Measure kind pacbayes against closed forms: a linear classifier's accuracy under weight noise is a
mean of normal CDFs, and its worst case in a box is a vertex whose accuracy is counted by hand."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.measures import pacbayes
from genlab.measures.noise_flatness import bisect_scale, noise_scale, worst_case_scale
from helpers import fixed_start_context, zoo_options

pytestmark = pytest.mark.usefixtures("one_thread")


def phi(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def closed_form_root(accuracy, target: float) -> float:
    """The scale where 1 - accuracy(scale) = target (accuracy decreasing), by bisection to 1e-12."""
    low, high = 1e-9, 1e3
    while high - low > 1e-12 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if 1 - accuracy(middle) >= target else (middle, high)
    return (low + high) / 2


def linear_classifier(n: int = 300, k: int = 30, positive: bool = False, seed: int = 0):
    """Linear(k, 2) without bias and the points of n that it classifies as class 0 with some room.

    Many inputs: one draw of the weight noise then moves the points' margins in many directions,
    so the accuracy of one draw varies little and a few hundred draws pin sigma' down to ~1 %.
    positive: x > 0 and class 0's weights above class 1's everywhere.
    """
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(2, k, generator=g, dtype=torch.float64)
    if positive:
        weight = torch.stack([weight[0].abs() + 0.5, -weight[1].abs()])
    net = nn.Linear(k, 2, bias=False).double()
    with torch.no_grad():
        net.weight.copy_(weight)
    d = weight[0] - weight[1]
    x = torch.randn(n, k, generator=g, dtype=torch.float64)
    x = x.abs() if positive else x * torch.sign(x @ d)[:, None]  # every point on class 0's side
    x = x[(x @ d) > 0.05 * x.norm(dim=1)]  # away from the boundary: none sits on it
    return net, x, torch.zeros(len(x), dtype=torch.long), d


def test_bisect_scale_finds_a_known_switch_from_either_side():
    for switch in (1e-3, 0.37, 250.0):
        found = bisect_scale(lambda s: s >= switch, tol=1e-6, max_steps=100)
        assert found["converged"] and found["value"] == pytest.approx(switch, rel=1e-6)
    assert not bisect_scale(lambda s: False, max_steps=5)["converged"]  # never exceeds: no bracket


def test_sigma_prime_matches_the_closed_form_of_gaussian_weight_noise():
    net, x, y, d = linear_classifier()
    # logit difference under u ~ N(0, s^2 I): d.x + s (z0 - z1).x, (z0 - z1).x ~ N(0, 2 s^2 |x|^2).
    margin, spread = (x @ d).numpy(), math.sqrt(2) * x.norm(dim=1).numpy()
    exact = closed_form_root(lambda s: phi(margin / (s * spread)).mean(), 0.1)
    found = noise_scale(net, x, y, target=0.1, draws=200, tol=1e-3, max_steps=60, seed=0)
    assert found["converged"] and found["accuracy"] == 1.0
    assert found["value"] == pytest.approx(exact, rel=0.05)  # 200 draws: sigma' varies by ~1.5 % (sd) with the draws' seed


def test_magnitude_aware_sigma_prime_matches_its_closed_form():
    net, x, y, d = linear_classifier(seed=1)
    eps = 0.05
    w2 = net.weight.detach().pow(2).sum(dim=0).numpy()  # W0i^2 + W1i^2 per input i
    margin, x2 = (x @ d).numpy(), x.pow(2).numpy()
    # u_ci ~ N(0, s^2 W_ci^2 + eps^2): the logit difference's variance is sum_i x_i^2 (s^2 (W0i^2 + W1i^2) + 2 eps^2).
    exact = closed_form_root(lambda s: phi(margin / np.sqrt(x2 @ (s**2 * w2 + 2 * eps**2))).mean(), 0.1)
    found = noise_scale(net, x, y, target=0.1, draws=200, tol=1e-3, max_steps=60, seed=0, magnitude_eps=eps)
    assert found["converged"] and found["value"] == pytest.approx(exact, rel=0.05)  # 200 draws: sigma' varies by ~1.5 % (sd) with the draws' seed


def test_alpha_prime_is_where_the_worst_vertex_misclassifies_a_tenth_of_the_points():
    net, x, y, d = linear_classifier(n=60, positive=True)
    x, y = x[:40], y[:40]
    # With x > 0 the loss's maximiser in the box lowers every class-0 weight by alpha and raises every
    # class-1 weight: margin d.x - 2 alpha |x|_1, wrong once alpha exceeds d.x / (2 |x|_1).
    switches = np.sort(((x @ d) / (2 * x.sum(dim=1))).numpy())
    found = worst_case_scale(net, x, y, target=0.1, ascent_steps=20, tol=1e-4, max_steps=60)
    assert found["converged"] and found["value"] == pytest.approx(switches[3], rel=1e-3)  # 4 of 40 wrong: 0.1


def test_the_pacbayes_kind_writes_jiangs_formulas():
    net, x, y, d = linear_classifier(n=80, seed=2)
    weight = net.weight.detach().clone()
    start = {"weight": torch.zeros_like(net.weight)}
    options = zoo_options(pacbayes_draws=20, pacbayes_tol=1e-3, pacbayes_max_steps=60)
    context = fixed_start_context(options, start, n_train=5000)
    rows = {r["measure"]: r for r in pacbayes.run(net, (x, y), context)}
    assert list(rows) == pacbayes.names(options)
    sigma = noise_scale(net, x, y, draws=20, tol=1e-3, max_steps=60)["value"]
    mag = noise_scale(net, x, y, draws=20, tol=1e-3, max_steps=60, magnitude_eps=1e-3)["value"]
    alpha = worst_case_scale(net, x, y, tol=1e-3, max_steps=60)["value"]
    w2 = net.weight.detach().pow(2).sum().item()
    assert rows["pacbayes_flatness"]["value"] == pytest.approx(1 / sigma**2, rel=1e-12)
    assert rows["pacbayes_mag_flatness"]["value"] == pytest.approx(1 / mag**2, rel=1e-12)
    assert rows["pacbayes_sharpness"]["value"] == pytest.approx(1 / alpha**2, rel=1e-12)
    bound = w2 / (4 * sigma**2) + math.log(5000 / sigma) + 10  # theta_0 = 0: init and orig agree
    assert rows["pacbayes_init"]["value"] == pytest.approx(bound, rel=1e-12)
    assert rows["pacbayes_orig"]["value"] == pytest.approx(bound, rel=1e-12)
    assert all(r["converged"] for r in rows.values())
    assert torch.equal(net.weight.detach(), weight)  # restored bit for bit
