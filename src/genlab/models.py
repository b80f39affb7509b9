"""The networks of the study. All convolutions are 3x3, stride 1, ReLU; no padding but zoo_cnn's.

ReLUs work in place: the same function, with one activation copy less per layer in memory.
"""

from __future__ import annotations

from torch import nn

from .config import WIDTH_ARCHS
from .errors import GenlabError

# 28x28 input -> 26 -> 24 -> 22 after one, two, three unpadded 3x3 convolutions.
ARCHS = ("deep_cnn", "width_cnn", "shallow_cnn", "fc", "zoo_cnn")


def deep_cnn() -> nn.Sequential:
    """conv16-conv32-conv64-dense128-10 (experiments 1 and 3): 3,989,642 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(inplace=True),  # (B, 16, 26, 26)
        nn.Conv2d(16, 32, 3), nn.ReLU(inplace=True),  # (B, 32, 24, 24)
        nn.Conv2d(32, 64, 3), nn.ReLU(inplace=True),  # (B, 64, 22, 22)
        nn.Flatten(),  # (B, 30976)
        nn.Linear(64 * 22 * 22, 128), nn.ReLU(inplace=True),
        nn.Linear(128, 10),
    )


def width_cnn(width: int) -> nn.Sequential:
    """conv(w)-dense(w)-10 (experiment 2): 676 w^2 + 21 w + 10 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3), nn.ReLU(inplace=True),  # (B, w, 26, 26)
        nn.Flatten(),  # (B, 676 w)
        nn.Linear(width * 26 * 26, width), nn.ReLU(inplace=True),
        nn.Linear(width, 10),
    )


def shallow_cnn() -> nn.Sequential:
    """conv16-dense10 (experiment 4): 108,330 parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(inplace=True),  # (B, 16, 26, 26)
        nn.Flatten(),
        nn.Linear(16 * 26 * 26, 10),
    )


def fc(width: int) -> nn.Sequential:
    """784-H-10, one hidden layer of H ReLU units (experiment 6; Belkin et al. 2019's MNIST net): 795 H + 10 parameters."""
    return nn.Sequential(
        nn.Flatten(),  # (B, 784)
        nn.Linear(28 * 28, width), nn.ReLU(inplace=True),  # (B, H)
        nn.Linear(width, 10),
    )


def zoo_cnn(width: int, depth: int, dropout: float = 0.0) -> nn.Sequential:
    """depth x [conv3x3(w) padding 1, ReLU], flatten, dropout, dense 10 (the model zoo):
    10 w + (depth - 1)(9 w^2 + w) + 7840 w + 10 parameters.

    Padding keeps every feature map 28x28, so depth changes only the conv stack (the dense layer
    reads 784 w features whatever the depth) and any depth fits. Flatten, not global average pooling:
    with a receptive field of 2 depth + 1 pixels, pooled local features fit MNIST far more slowly,
    and the zoo trains each net to a small train loss. The Dropout module is always there (p = 0 is
    the identity), so every zoo checkpoint has the same layer indices.
    """
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Conv2d(1 if i == 0 else width, width, 3, padding=1), nn.ReLU(inplace=True)]  # (B, w, 28, 28)
    return nn.Sequential(
        *layers,
        nn.Flatten(),  # (B, 784 w)
        nn.Dropout(dropout),
        nn.Linear(width * 28 * 28, 10),
    )


def build_model(arch: str, width: int | None = None, depth: int | None = None, dropout: float = 0.0) -> nn.Sequential:
    if arch == "zoo_cnn":
        if not all(isinstance(v, int) and v >= 1 for v in (width, depth)):
            raise GenlabError(f"zoo_cnn needs positive integer width and depth, got width {width!r}, depth {depth!r}")
        return zoo_cnn(width, depth, dropout)
    if arch == "deep_cnn":
        return deep_cnn()
    if arch == "shallow_cnn":
        return shallow_cnn()
    if arch in WIDTH_ARCHS:
        if not isinstance(width, int) or width < 1:
            raise GenlabError(f"{arch} needs a positive integer width, got {width!r}")
        return width_cnn(width) if arch == "width_cnn" else fc(width)
    raise GenlabError(f"unknown architecture {arch!r}, expected one of {', '.join(ARCHS)}")


def from_config(cfg) -> nn.Sequential:
    """The untrained network of a TrainConfig."""
    return build_model(cfg.arch, cfg.width, cfg.depth, cfg.dropout)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
