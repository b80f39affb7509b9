"""Analytic FLOP count of genlab's networks, checked against torch's own counter.

Only convolutions and linear layers are counted (ReLU, bias, loss and Adam are a rounding
error next to them): forward = 2 * MACs, a training step = 3 * forward (backward computes
a gradient for the input and one for the weights, each as costly as the forward).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def forward_macs(model: nn.Sequential, in_shape=(1, 28, 28)) -> int:
    """Multiply-accumulates of one image's forward pass, following the shape layer by layer."""
    c, h, w = in_shape
    features = None  # set once flattened
    macs = 0
    for layer in model:
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            (sh, sw), (ph, pw) = layer.stride, layer.padding
            h, w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
            macs += h * w * layer.out_channels * (c // layer.groups) * kh * kw
            c = layer.out_channels
        elif isinstance(layer, nn.Flatten):
            features = c * h * w
        elif isinstance(layer, nn.Linear):
            assert features == layer.in_features, (features, layer.in_features)
            macs += layer.in_features * layer.out_features
            features = layer.out_features
    return macs


def train_flops_per_sample(model: nn.Sequential) -> int:
    return 3 * 2 * forward_macs(model)


def counted_flops(model: nn.Module, batch: int = 4) -> tuple[float, float]:
    """torch's count per sample: (forward, forward + backward).

    The backward count is below 3x forward by the first convolution's input gradient, which
    autograd skips (the images need none): 0.2% of deep_cnn, 10-16% of the small networks.
    """
    x = torch.rand(batch, 1, 28, 28)
    with FlopCounterMode(display=False) as fwd:
        model(x)
    with FlopCounterMode(display=False) as step:
        model(x).sum().backward()
    model.zero_grad(set_to_none=True)
    return fwd.get_total_flops() / batch, step.get_total_flops() / batch
