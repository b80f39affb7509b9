"""Measure kind optimisation: the gradient noise of a softmax regression, from its closed-form gradients."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.measures import optimisation
from helpers import fixed_start_context, tiny_config, zoo_options

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gradient_noise_is_the_variance_of_closed_form_minibatch_gradients():
    torch.manual_seed(0)
    net = nn.Linear(4, 3, bias=False).double()
    x, y = torch.randn(70, 4, dtype=torch.float64), torch.randint(0, 3, (70,))
    context = fixed_start_context(zoo_options(), net.state_dict(), cfg=tiny_config(batch_size=16))
    (row,) = optimisation.run(net, (x, y), context)
    # Cross-entropy of softmax(W x): d/dW = (p - onehot(y)) x^T per point; a batch's gradient is their mean.
    w, xs, ys = net.weight.detach().numpy(), x.numpy(), y.numpy()
    logits = xs @ w.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    per_point = np.einsum("nc,nk->nck", p - np.eye(3)[ys], xs).reshape(70, -1)
    batches = np.stack([per_point[i : i + 16].mean(0) for i in range(0, 64, 16)])  # 4 full batches, 6 points left
    expected = ((batches - batches.mean(0)) ** 2).sum() / 3
    assert row["measure"] == "optimisation_gradient_noise" and row["n_points"] == 64
    assert row["value"] == pytest.approx(expected, rel=1e-10) and row["std_error"] > 0


def test_fewer_than_two_batches_give_nan():
    net = nn.Linear(4, 3).double()
    x, y = torch.randn(20, 4, dtype=torch.float64), torch.zeros(20, dtype=torch.long)
    context = fixed_start_context(zoo_options(), net.state_dict(), cfg=tiny_config(batch_size=16))
    assert math.isnan(optimisation.run(net, (x, y), context)[0]["value"])
