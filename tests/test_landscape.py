"""Filter-normalised directions and 1-D / 2-D loss landscapes on a tiny fp32 net."""

import copy

import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.measures.surface import (
    COLUMNS_1D,
    COLUMNS_2D,
    filter_normalized_direction,
    landscape_1d,
    landscape_2d,
)
from genlab.training import evaluate


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(48, 4)).eval()


def split(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 6, 6, generator=g), torch.randint(0, 4, (n,), generator=g)


@pytest.fixture
def setup():
    return tiny_net(), split(25, 1), split(15, 2)


def test_every_filter_has_the_norm_of_thetas_filter_and_biases_are_zero():
    model = tiny_net()
    direction = filter_normalized_direction(model, seed=0)
    for (name, p), d in zip(model.named_parameters(), direction):
        assert d.shape == p.shape and d.dtype == p.dtype
        if p.dim() == 1:
            assert torch.count_nonzero(d) == 0, name
        else:
            assert torch.allclose(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5), name
    again = filter_normalized_direction(model, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(direction, again))
    assert not torch.equal(direction[0], filter_normalized_direction(model, seed=1)[0])


def test_landscape_1d_is_the_checkpoint_loss_at_zero_and_restores(setup):
    model, (x_tr, y_tr), (x_te, y_te) = setup
    saved = [p.detach().clone() for p in model.parameters()]
    direction = filter_normalized_direction(model, seed=3)
    rows = landscape_1d(model, x_tr, y_tr, x_te, y_te, direction, [-0.5, 0.0, 0.25], chunk_size=10)
    assert all(torch.equal(p, s) for p, s in zip(model.parameters(), saved))
    assert [list(row) for row in rows] == [COLUMNS_1D] * 3 and [row["t"] for row in rows] == [-0.5, 0.0, 0.25]
    train, test = evaluate(model, x_tr, y_tr, 10), evaluate(model, x_te, y_te, 10)
    at_zero = rows[1]
    assert at_zero["train_loss"] == train["loss"] and at_zero["test_loss"] == test["loss"]
    assert at_zero["train_accuracy"] == train["accuracy"] and at_zero["test_accuracy"] == test["accuracy"]
    # Any other point is theta + t d, evaluated on a separately built copy.
    moved = copy.deepcopy(model)
    with torch.no_grad():
        for p, d in zip(moved.parameters(), direction):
            p.add_(d, alpha=-0.5)
    assert rows[0]["train_loss"] == evaluate(moved, x_tr, y_tr, 10)["loss"] != train["loss"]


def test_landscape_2d_grid_origin_and_axes(setup):
    model, (x_tr, y_tr), (x_te, y_te) = setup
    saved = [p.detach().clone() for p in model.parameters()]
    d1, d2 = filter_normalized_direction(model, seed=1), filter_normalized_direction(model, seed=2)
    rows = landscape_2d(model, x_tr, y_tr, x_te, y_te, d1, d2, [0.0, 0.5], [-0.5, 0.0], chunk_size=10)
    assert all(torch.equal(p, s) for p, s in zip(model.parameters(), saved))
    assert [(r["t1"], r["t2"]) for r in rows] == [(0.0, -0.5), (0.0, 0.0), (0.5, -0.5), (0.5, 0.0)]
    assert all(list(r) == COLUMNS_2D for r in rows)
    assert rows[1]["train_loss"] == evaluate(model, x_tr, y_tr, 10)["loss"]
    assert rows[1]["test_loss"] == evaluate(model, x_te, y_te, 10)["loss"]
    # On an axis only that direction moves: the same numbers as the 1-D landscape, bit for bit.
    (along_d2,) = landscape_1d(model, x_tr, y_tr, x_te, y_te, d2, [-0.5], chunk_size=10)
    (along_d1,) = landscape_1d(model, x_tr, y_tr, x_te, y_te, d1, [0.5], chunk_size=10)
    assert {k: rows[0][k] for k in COLUMNS_1D[1:]} == {k: along_d2[k] for k in COLUMNS_1D[1:]}
    assert {k: rows[3][k] for k in COLUMNS_1D[1:]} == {k: along_d1[k] for k in COLUMNS_1D[1:]}


def test_direction_of_the_wrong_shape_is_named(setup):
    model, (x_tr, y_tr), (x_te, y_te) = setup
    direction = filter_normalized_direction(model, seed=0)
    with pytest.raises(GenlabError, match="direction 1 has 3 tensors"):
        landscape_1d(model, x_tr, y_tr, x_te, y_te, direction[:3], [0.0])
