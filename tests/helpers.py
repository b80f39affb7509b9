"""Small builders shared by the tests."""

from __future__ import annotations

import torch

from genlab.config import TrainConfig
from genlab.data import load_tensors, make_subset, subset_spec


def tiny_config(**overrides) -> TrainConfig:
    fields = dict(
        experiment="sensitivity", run="batch32", seed=0, arch="shallow_cnn", width=None, lr=1e-3,
        batch_size=32, epochs=2, n_train=200, data_seed=0, permuted_labels=False,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


def tiny_tensors(mnist_root, cfg: TrainConfig, n_test: int | None = 100):
    subset = make_subset(mnist_root, subset_spec(cfg.n_train, cfg.data_seed, cfg.permuted_labels))
    return load_tensors(mnist_root, subset, torch.device("cpu"), n_test=n_test)
