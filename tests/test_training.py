import subprocess
import sys

import torch

from genlab.training import evaluate, train
from helpers import tiny_config, tiny_tensors


def test_short_training_lowers_the_loss(mnist_root):
    cfg = tiny_config(epochs=3)
    data = tiny_tensors(mnist_root, cfg)
    torch.manual_seed(0)
    result = train(cfg, data, data)
    losses = [row["train_loss"] for row in result.history]
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert losses[-1] < 0.5 * losses[0]
    assert result.history[-1]["test_accuracy"] > 0.5


def test_metrics_cover_the_whole_split(mnist_root):
    cfg = tiny_config()
    data = tiny_tensors(mnist_root, cfg)
    model = train(cfg, data, data).model
    whole = evaluate(model, data.x_test, data.y_test, batch_size=1000)
    chunked = evaluate(model, data.x_test, data.y_test, batch_size=7)  # chunking must not change the result
    assert abs(whole["loss"] - chunked["loss"]) < 1e-6 and whole["accuracy"] == chunked["accuracy"]
    correct = (model(data.x_test).argmax(1) == data.y_test).sum().item()
    assert whole["accuracy"] == correct / len(data.y_test)


def test_history_records_the_seeds(mnist_root):
    cfg = tiny_config(seed=7, data_seed=3, epochs=1)
    row = train(cfg, tiny_tensors(mnist_root, cfg), tiny_tensors(mnist_root, cfg)).history[0]
    assert (row["seed"], row["data_seed"]) == (7, 3)


def test_job_device_settings_are_deterministic_without_loading_the_compiler():
    # A job's settings, in a fresh process: deterministic kernels on, threads as granted, and
    # torch._inductor never imported (it would double a job's start-up).
    code = (
        "import sys, torch\n"
        "from genlab.device import configure\n"
        "configure(1, torch.device('cpu'))\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert not torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "assert torch.get_num_threads() == 1\n"
        "print(sorted(m for m in sys.modules if m.startswith('torch._inductor')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
