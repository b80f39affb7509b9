import json
import re

from genlab.checkpoint import save_checkpoint
from genlab.cli import main
from genlab.models import build_model
from helpers import tiny_config
from workflow_runner import REPO, TINY


def test_check_config_lists_the_runs(capsys):
    assert main(["check-config", str(REPO / "config.yaml"), str(TINY)]) == 0
    assert "params_vs_gen: 2 training jobs (width2, width4)" in capsys.readouterr().out


def test_check_config_error_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sensitivity: {batch_sizes: [64, 0]}\n")
    assert main(["check-config", str(REPO / "config.yaml"), str(bad)]) == 2
    assert capsys.readouterr().err == "genlab: error: config key sensitivity.batch_sizes.1: 0 must be > 0\n"


def test_check_mnist_and_inspect(mnist_root, tmp_path, capsys):
    assert main(["check-mnist", str(mnist_root)]) == 0
    assert "train: 600 images, ok" in capsys.readouterr().out
    cfg = tiny_config()
    save_checkpoint(tmp_path / "c.pt", build_model(cfg.arch), cfg, {"test_accuracy": 0.5})
    assert main(["inspect", str(tmp_path / "c.pt")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["seed"] == 0 and shown["n_params"] == 108_330


def test_check_config_names_a_bad_file_in_one_line(tmp_path, capsys):
    cases = {
        "missing.yaml": (None, r"missing\.yaml: config file not found"),
        "tabs.yaml": ("seeds:\n\t- 0\n", r"tabs\.yaml: not valid YAML at line 2, column 1: .*tabs are not allowed"),
        "list.yaml": ("- a\n- b\n", r"list\.yaml: a config file must map keys to values, this one holds a list"),
        "empty.yaml": ("", r"empty\.yaml: empty config file"),
    }
    for name, (text, message) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        assert main(["check-config", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.match(r"^genlab: error: .*" + message, err), err
