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


def zoo_options(**overrides) -> dict:
    """Config section `measures` for the norms, pacbayes and optimisation kinds, at config.yaml's defaults."""
    options = dict(
        measures=["norms", "pacbayes", "optimisation"], n_points=100, seed=0, margin_percentile=10,
        spectral_iters=10000, spectral_tol=1e-8, pacbayes_target=0.1, pacbayes_draws=10, pacbayes_tol=0.01,
        pacbayes_max_steps=30, pacbayes_mag_eps=1e-3, pacbayes_ascent_steps=20,
    )
    options.update(overrides)
    return options


def fixed_start_context(options: dict, start: dict, cfg=None, n_train: int = 100, chunk_size: int = 1000):
    """A MeasureContext whose theta_0 is `start` (a state dict) instead of a run's re-created initialisation."""
    import dataclasses

    from genlab.measures.context import MeasureContext

    @dataclasses.dataclass(frozen=True)
    class FixedStart(MeasureContext):
        start: dict = None

        def initial_state(self):
            return self.start

    return FixedStart(cfg=cfg, options=options, seed=options["seed"], chunk_size=chunk_size, n_train=n_train,
                      subset=None, start=start)
