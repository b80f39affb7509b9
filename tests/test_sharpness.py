"""Keskar and average sharpness, the shared loss, and the per-checkpoint suite, on tiny nets and closed forms."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab import measures
from genlab.errors import GenlabError
from genlab.measures.context import MeasureContext
from genlab.measures.loss import loss_and_accuracy, mean_loss
from genlab.measures.rows import ROW_COLUMNS, measure_suffix
from genlab.measures.sharpness import average_sharpness, box_ascent, keskar_sharpness
from genlab.measures.suite import run_measures


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_net(dtype=torch.float32) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(32, 3)).to(dtype).eval()


def tiny_data(n: int = 30, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 6, 6, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def snapshot(model):
    return [p.detach().clone() for p in model.parameters()]


def assert_bitwise(model, saved):
    for p, s in zip(model.parameters(), saved):
        assert torch.equal(p, s) and torch.equal(p.view(-1).view(torch.int32), s.view(-1).view(torch.int32))


def quadratic(a: torch.Tensor, c: torch.Tensor):
    """f(d) = sum a_i (c_i + d_i)^2 and its gradient, as box_ascent wants it."""

    def objective(delta):
        (d,) = delta
        return (a * (c + d) ** 2).sum().item(), [2 * a * (c + d)]

    return objective


def test_box_ascent_finds_the_closed_form_maximum():
    # Convex coordinates (a > 0): maximum at the far vertex, d = r sign(c); concave ones
    # (a < 0): at the clipped stationary point d = clamp(-c, -r, r). A descent would stay at 0.
    a = torch.tensor([1.0, 2.0, 0.5, -1.0, -3.0], dtype=torch.float64)
    c = torch.tensor([0.3, -0.2, 0.05, 0.01, 2.0], dtype=torch.float64)
    r = torch.tensor([0.1, 0.1, 0.2, 0.05, 0.5], dtype=torch.float64)
    best_d = torch.where(a > 0, r * torch.sign(c), torch.clamp(-c, -r, r))
    expected, _ = quadratic(a, c)([best_d])
    result = box_ascent(quadratic(a, c), [r], max_steps=200, lr=0.1)
    assert result["value"] == pytest.approx(expected, rel=1e-6)
    assert torch.allclose(result["delta"][0], best_d, atol=1e-3)
    assert result["converged"] and result["steps"] < 200
    assert result["start"] == quadratic(a, c)([torch.zeros(5, dtype=torch.float64)])[0]


def test_box_ascent_reports_no_convergence_when_cut_short():
    a, c = torch.ones(3, dtype=torch.float64), torch.full((3,), 0.5, dtype=torch.float64)
    result = box_ascent(quadratic(a, c), [torch.ones(3, dtype=torch.float64)], max_steps=5, lr=0.01)
    assert result["steps"] == 5 and not result["converged"]


def test_keskar_is_positive_beats_random_vertices_and_restores_parameters():
    model, (x, y) = tiny_net(), tiny_data()
    saved = snapshot(model)
    base = mean_loss(model, x, y, chunk_size=7)
    result = keskar_sharpness(model, x, y, eps=1e-2, max_steps=60, chunk_size=7)
    assert_bitwise(model, saved)
    assert result["value"] > 0 and result["loss"] == base
    assert result["value"] == 100 * (result["max_loss"] - base) / (1 + base)
    assert 1 <= result["steps"] <= 60 and isinstance(result["converged"], bool)
    # Random vertices of the same box never beat the ascent.
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(10):
            for p, s in zip(model.parameters(), saved):
                sign = torch.randint(0, 2, s.shape, generator=g).to(s.dtype) * 2 - 1
                p.copy_(s + 1e-2 * (s.abs() + 1) * sign)
            assert mean_loss(model, x, y, chunk_size=7) <= result["max_loss"]


def test_keskar_at_zero_eps_is_zero():
    model, (x, y) = tiny_net(), tiny_data()
    saved = snapshot(model)
    result = keskar_sharpness(model, x, y, eps=0.0, max_steps=30)
    assert result["value"] == 0.0 and result["converged"]
    assert_bitwise(model, saved)


def test_average_sharpness_zero_at_zero_sigma_deterministic_and_restores():
    model, (x, y) = tiny_net(), tiny_data()
    saved = snapshot(model)
    assert average_sharpness(model, x, y, sigma=0.0, samples=3) == {"value": 0.0, "std_error": 0.0}
    assert_bitwise(model, saved)
    first = average_sharpness(model, x, y, sigma=0.05, samples=5, seed=4, chunk_size=8)
    assert_bitwise(model, saved)
    assert first == average_sharpness(model, x, y, sigma=0.05, samples=5, seed=4, chunk_size=8)
    assert first["std_error"] > 0 and math.isfinite(first["value"])
    assert first != average_sharpness(model, x, y, sigma=0.05, samples=5, seed=5, chunk_size=8)


def test_sharpness_errors_name_the_value():
    model, (x, y) = tiny_net(), tiny_data()
    with pytest.raises(GenlabError, match="keskar eps must be a finite number >= 0, got -0.1"):
        keskar_sharpness(model, x, y, eps=-0.1)
    with pytest.raises(GenlabError, match="at least 2 samples"):
        average_sharpness(model, x, y, sigma=0.1, samples=1)


def test_mean_loss_is_the_mean_cross_entropy_whatever_the_chunking():
    model, (x, y) = tiny_net(), tiny_data(23)
    with torch.no_grad():
        logits = model(x)
    expected = F.cross_entropy(logits.double(), y).item()
    for chunk in (1, 5, 23, 1000):
        assert mean_loss(model, x, y, chunk_size=chunk) == pytest.approx(expected, rel=1e-6)
    assert loss_and_accuracy(model, x, y, 4)["accuracy"] == (logits.argmax(1) == y).sum().item() / 23
    with pytest.raises(GenlabError, match="evaluation set is empty"):
        mean_loss(model, x[:0], y[:0])
    with pytest.raises(GenlabError, match="3 labels"):
        mean_loss(model, x, y[:3])


def test_measure_suffix_round_trips():
    assert measure_suffix(1e-3) == "0.001" and measure_suffix(5e-4) == "0.0005" and measure_suffix(1e-5) == "1e-05"
    assert all(float(measure_suffix(v)) == v for v in (1e-3, 5e-4, 0.1 + 0.2, 1))
    assert measures.BUILTIN[:4] == ("hessian", "keskar", "average_sharpness", "landscape")


SECTION = {
    "measures": ["average_sharpness", "hessian", "keskar"],  # rows come in registry order whatever the order here
    "n_points": 20,
    "seed": 0,
    "hessian": {"k": 2, "iters": 30, "probes": 4, "tol": 1e-6},
    "keskar_eps": [1e-3, 5e-4],
    "keskar_steps": 15,
    "keskar_lr": 0.1,
    "average_sigma": [1e-3],
    "samples": 3,
}


def context(options: dict, chunk_size: int = 7) -> MeasureContext:
    return MeasureContext(cfg=None, options=options, seed=options["seed"], chunk_size=chunk_size, n_train=20, subset=None)


def test_run_measures_rows_names_and_restoration():
    model, (x, y) = tiny_net(), tiny_data(20)
    saved = snapshot(model)
    rows = run_measures(model, (x, y), context(SECTION))
    assert_bitwise(model, saved)
    assert all(list(row) == ROW_COLUMNS for row in rows)
    assert [row["measure"] for row in rows] == [
        "hessian_eig1", "hessian_eig2", "hessian_eig_min", "hessian_trace", "hessian_trace_conv1",
        "hessian_trace_dense1", "keskar_0.001", "keskar_0.0005", "average_sharpness_0.001",
    ]
    by_name = {row["measure"]: row for row in rows}
    assert all(row["n_points"] == 20 for row in rows)
    assert by_name["hessian_eig1"]["value"] >= by_name["hessian_eig2"]["value"] >= by_name["hessian_eig_min"]["value"]
    assert by_name["hessian_trace"]["std_error"] > 0 and by_name["hessian_trace"]["steps"] is None
    assert by_name["keskar_0.001"]["steps"] <= 15 and by_name["keskar_0.001"]["std_error"] is None
    assert by_name["average_sharpness_0.001"]["converged"] is None
    # Each kind's rows are those of its numerics, called with the section's keys.
    assert by_name["keskar_0.0005"]["value"] == keskar_sharpness(model, x, y, 5e-4, 15, 0.1, 7)["value"]
    assert by_name["average_sharpness_0.001"]["std_error"] == average_sharpness(model, x, y, 1e-3, 3, 0, 7)["std_error"]
    assert run_measures(model, (x, y), context({**SECTION, "measures": []})) == []
    no_trace = run_measures(model, (x, y), context({**SECTION, "hessian": {**SECTION["hessian"], "probes": 0}}), ["hessian"])
    assert [r["measure"] for r in no_trace] == ["hessian_eig1", "hessian_eig2", "hessian_eig_min"]
    assert [r["measure"] for r in run_measures(model, (x, y), context({**SECTION, "average_sigma": [0.0]}), ["average_sharpness"])] == [
        "average_sharpness_0.0"
    ]


def test_run_measures_rejects_unknown_kinds_and_misnamed_rows(monkeypatch):
    model, (x, y) = tiny_net(), tiny_data(5)
    with pytest.raises(GenlabError, match="unknown measure kind 'flatness'"):
        run_measures(model, (x, y), context(SECTION), ["flatness"])
    keskar = measures.get("keskar")
    monkeypatch.setattr(keskar, "run", lambda model, data, ctx: [{"measure": "sharp", "value": 1.0}])
    with pytest.raises(GenlabError, match="expected the keys measure, value, std_error"):
        run_measures(model, (x, y), context(SECTION), ["keskar"])
    monkeypatch.setattr(keskar, "run", lambda model, data, ctx: [dict.fromkeys(ROW_COLUMNS) | {"measure": "sharp"}])
    with pytest.raises(GenlabError, match="must be keskar or start with keskar_"):
        run_measures(model, (x, y), context(SECTION), ["keskar"])
