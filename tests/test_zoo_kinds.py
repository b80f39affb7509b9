"""Jiang et al.'s kinds in the measure suite, on a real network with a real context: at theta_0."""

import math

import pytest
import torch

from genlab.measures.context import MeasureContext
from genlab.measures.rows import ROW_COLUMNS
from genlab.measures.suite import run_measures
from genlab.training import init_model
from helpers import tiny_config, tiny_tensors, zoo_options

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_zoo_kinds_run_in_the_suite_at_initialisation(mnist_root):
    cfg = tiny_config(n_train=64, batch_size=16)
    data = tiny_tensors(mnist_root, cfg, n_test=16)
    model = init_model(cfg, torch.device("cpu"))  # theta = theta_0: the distances to it are 0
    options = zoo_options(n_points=64, spectral_iters=50, spectral_tol=1e-3, pacbayes_draws=2, pacbayes_max_steps=8,
                          pacbayes_ascent_steps=2)
    context = MeasureContext(cfg=cfg, options=options, seed=0, chunk_size=64, n_train=64, subset=data)
    x, y = data.x_train[:64], data.y_train[:64]
    rows = {r["measure"]: r for r in run_measures(model, (x, y), context)}
    assert all(list(r) == ROW_COLUMNS for r in rows.values())
    assert {"norms_spectral_conv1", "norms_spectral_dense1", "pacbayes_flatness", "optimisation_gradient_noise"} <= set(rows)
    assert rows["norms_dist_init"]["value"] == 0.0
    sigma = rows["pacbayes_flatness"]["value"] ** -0.5
    # ||w - w_0|| = 0: the bound is its last two terms.
    assert rows["pacbayes_init"]["value"] == pytest.approx(math.log(64 / sigma) + 10, rel=1e-12)
    assert rows["optimisation_gradient_noise"]["n_points"] == 64 and rows["optimisation_gradient_noise"]["value"] > 0
