import torch

from genlab.experiments.interpolation import interpolation_curve
from genlab.measures.jacobian import jacobian_norms, mean_jacobian_norm as sensitivity
from genlab.models import build_model
from genlab.training import evaluate_splits, train
from helpers import tiny_config, tiny_tensors


def test_interpolation_endpoints_reproduce_each_solution(mnist_root):
    cfg_a, cfg_b = tiny_config(seed=1, batch_size=64), tiny_config(seed=2, batch_size=16)
    data = tiny_tensors(mnist_root, cfg_a)
    model_a, model_b = train(cfg_a, data, data).model, train(cfg_b, data, data).model
    rows = interpolation_curve(
        build_model("shallow_cnn"), model_a.state_dict(), model_b.state_dict(), [-0.5, 0.0, 0.5, 1.0], data
    )
    by_alpha = {row["alpha"]: row for row in rows}
    for alpha, model in ((0.0, model_a), (1.0, model_b)):
        expected = evaluate_splits(model, data, 1000)
        assert {k: by_alpha[alpha][k] for k in expected} == expected
    assert by_alpha[0.5]["train_loss"] != by_alpha[0.0]["train_loss"]


def _reference_norms(model, x, output):
    def f(point):  # (1, 28, 28) -> (10,)
        out = model(point.unsqueeze(0))[0]
        return out.softmax(0) if output == "softmax" else out

    return torch.stack([torch.autograd.functional.jacobian(f, p).flatten().norm() for p in x])


def test_sensitivity_matches_autograd_jacobian_per_point():
    torch.manual_seed(0)
    model = build_model("shallow_cnn")
    x = torch.rand(5, 1, 28, 28)
    for output in ("softmax", "logits"):
        ours = jacobian_norms(model, x, output, batch_size=2)
        assert torch.allclose(ours, _reference_norms(model, x, output), rtol=1e-4, atol=1e-6)
    assert abs(sensitivity(model, x, "logits") - _reference_norms(model, x, "logits").mean().item()) < 1e-4
