"""Dinh et al.'s rescaling: the function stays, the measures declared invariant stay, the others move."""

import pytest
import torch
from torch import nn

from genlab import measures
from genlab.errors import GenlabError
from genlab.measures.reparam import invariance, rescaled
from helpers import fixed_start_context, tiny_config, zoo_options

pytestmark = pytest.mark.usefixtures("one_thread")


def relu_cnn(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 8), nn.ReLU(), nn.Linear(8, 3),
    ).double()


def test_rescaling_keeps_the_function_and_scales_the_bias_with_its_layer():
    net = relu_cnn(0)
    x = torch.randn(10, 1, 8, 8, dtype=torch.float64)
    for layer in ("conv1", "dense1"):
        scaled = rescaled(net, layer, 10.0)
        with torch.no_grad():
            assert torch.allclose(scaled(x), net(x), rtol=1e-12, atol=1e-12), layer
    scaled = rescaled(net, "conv1", 10.0)
    assert torch.equal(scaled[0].bias, net[0].bias * 10) and torch.equal(scaled[3].bias, net[3].bias)
    with pytest.raises(GenlabError, match="not one of conv1, dense1"):
        rescaled(net, "dense2", 10.0)  # the last layer has no next one to compensate
    with pytest.raises(GenlabError, match="Tanh: not positively homogeneous"):
        rescaled(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)), "dense1", 10.0)


def test_the_measures_declared_invariant_are_and_the_others_are_not():
    net = relu_cnn(0)
    start = relu_cnn(1).state_dict()  # theta_0: another draw
    x = torch.randn(40, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        y = net(x).argmax(1)  # fits its training points, as a trained net does
    # eps ~ 0: the magnitude-aware noise is then exactly proportional to the weights.
    options = zoo_options(pacbayes_mag_eps=1e-12, spectral_iters=2000, spectral_tol=1e-8, n_points=40)
    context = fixed_start_context(options, start, cfg=tiny_config(batch_size=8))
    found = invariance(net, (x, y), context, "dense1", 10.0, kinds=["norms", "pacbayes", "optimisation"])
    print("\nmeasure: relative change under dense1 x 10, dense2 x 1/10 (declared invariant)")
    for measure, r in found.items():
        print(f"  {measure}: {r['change']:.3g} ({r['declared']})")
    assert all(r["declared"] is not None for r in found.values())
    invariant = {m: r["change"] for m, r in found.items() if r["declared"]}
    untouched = "norms_spectral_conv1"  # a layer the rescaling leaves alone keeps its norm
    moved = {m: r["change"] for m, r in found.items() if not r["declared"] and m != untouched}
    assert found[untouched]["change"] == 0
    assert all(change < 0.01 for change in invariant.values()), invariant
    assert all(change > 0.01 for change in moved.values()), moved
    assert measures.is_invariant("norms_path") and not measures.is_invariant("pacbayes_flatness")
    assert measures.is_invariant("keskar_0.001") is None  # its kind does not say
