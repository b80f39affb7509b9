"""An experiment and a measure kind added from the test folder alone (config key plugins), through the real
Snakemake: its figure, its table rows, its claim row, its estimate line and its measure rows appear."""

import csv
import subprocess

import pytest
import yaml

from genlab import experiments, measures
from genlab.cli import main
from mnist_files import write_mnist
from workflow_runner import REPO, TINY, rules_run, snakemake, snakemake_cmd

pytestmark = pytest.mark.workflow
TOY = REPO / "tests" / "toy"


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def toy_config(tmp_path_factory):
    config = yaml.safe_load(TINY.read_text())
    config.update(
        experiments=["toy"],
        plugins=[str(TOY / "toy_experiment.py"), str(TOY / "toy_measure.py")],
    )
    config["measures"].update(experiments=["toy"], measures=["param_norm", "hessian"], landscape={"runs": []})
    path = tmp_path_factory.mktemp("config") / "toy.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_toy_experiment_and_measure_run_through_the_workflow(tmp_path, toy_config):
    root = write_mnist(tmp_path / "mnist")
    work = tmp_path / "work"
    result = snakemake(work, configfile=toy_config, data_root=root)
    assert result.returncode == 0, result.stderr[-4000:]
    jobs = rules_run(result.stdout + result.stderr)
    assert jobs.count("train") == 2, "only the toy experiment's two networks train"
    assert (work / "image/Toy.png").stat().st_size > 5_000
    rows = _csv(work / "results/metrics/toy.csv")
    assert [(r["experiment"], r["run"]) for r in rows] == [("toy", "w2"), ("toy", "w3")]
    claims = _csv(work / "results/claims.csv")
    assert [(c["experiment"], c["claim"], c["held"]) for c in claims] == [("toy", "toy_trained", "True")]
    table = _csv(work / "results/measures/all.csv")
    norms = [r for r in table if r["measure"] == "param_norm"]
    assert len(norms) == 2 and all(float(r["value"]) > 0 for r in norms)
    assert {r["measure"] for r in _csv(work / "results/measures/ranking.csv")} >= {"param_norm"}


def test_toy_experiment_has_its_estimate_line(toy_config, capsys):
    assert main(["estimate", str(REPO / "config.yaml"), str(toy_config), "--coarse", "--cores", "2", "--jobs"]) == 0
    out = capsys.readouterr().out
    assert "\ntoy " in out and "toy/w2/seed0" in out
    assert "random_labels" not in out, "experiments not chosen are not estimated"
    assert "toy" in experiments.names() and "param_norm" in measures.names()


def test_check_config_lists_the_experiments_that_run(toy_config, capsys):
    assert main(["check-config", str(REPO / "config.yaml"), str(toy_config)]) == 0
    out = capsys.readouterr().out
    assert "experiments that run: toy\n" in out and "toy: 2 training jobs (w2, w3)" in out


def test_a_preset_limited_to_one_experiment_plans_only_its_trainings(tmp_path):
    only = tmp_path / "only.yaml"
    only.write_text("experiments: [params_vs_gen]\n")
    cmd = snakemake_cmd(tmp_path / "work", "-n", configfile=REPO / "presets/quick.yaml", data_root=tmp_path / "no-mnist")
    cmd[cmd.index("--configfile") + 1:cmd.index("--configfile") + 2] = [str(REPO / "presets/quick.yaml"), str(only)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    jobs = rules_run(out)
    assert jobs.count("train") == 7, "the quick preset's seven widths, nothing else"
    assert "results/runs/params_vs_gen/" in out
    for other in ("random_labels", "interpolation", "sensitivity", "corruption", "double_descent"):
        assert f"results/runs/{other}/" not in out and f"results/metrics/{other}.csv" not in out
    assert "claims" in jobs and "landscape" not in jobs
