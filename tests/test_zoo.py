"""The model zoo (genlab.experiments.zoo): its grid and names, the training features it brought
(target train loss, SGD, weight decay, dropout, zoo_cnn), its runs table, its config errors, and
that every other experiment's training configs are what they were."""

from __future__ import annotations

import copy
import csv
import re

import pytest
import torch
import yaml

from genlab import cost, plan, rates
from genlab.columns import REACHED_TARGET, STEPS_TO_LOSS, TARGET_HISTORY_COLUMNS
from genlab.config import OMITTED_AT_DEFAULT, TrainConfig
from genlab.data import Tensors
from genlab.errors import GenlabError
from genlab.experiments import zoo
from genlab.jobs import history_columns
from genlab.models import build_model, from_config, n_params
from genlab.training import SGD_MOMENTUM, make_optimizer, train
from genlab.validate import validate
from mnist_files import write_mnist
from workflow_runner import REPO, TINY, planned, snakemake

TINY_CONFIG = yaml.safe_load(TINY.read_text())


def _config(**zoo_changes) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["zoo"].update(zoo_changes)
    return config


def _zoo_cfg(**overrides) -> TrainConfig:
    fields = dict(
        experiment="zoo", run="w4d1", seed=0, arch="zoo_cnn", width=4, lr=1e-2, batch_size=16, epochs=2, n_train=64,
        data_seed=0, permuted_labels=False, depth=1, target_train_loss=0.01,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


def _separable(n: int = 64) -> Tensors:
    """Images whose class is the row lit up: a zoo_cnn fits them in a few epochs."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    x[torch.arange(n), 0, 2 * y + 3, :] = 1.0
    return Tensors(x, y, x[:32].clone(), y[:32].clone())


# ---------------------------------------------------------------- the grid and its names


def test_the_grid_expands_to_every_combination_named_by_its_hyperparameters():
    section = planned()["zoo"]
    assert zoo.run_names(section) == [
        "w2d1b32lr1em3wd5em4do0p25adam", "w2d1b32lr1em3wd5em4do0p25sgd",
        "w2d2b32lr1em3wd5em4do0p25adam", "w2d2b32lr1em3wd5em4do0p25sgd",
    ]
    reference = planned(None)["zoo"]
    names = zoo.run_names(reference)
    assert len(names) == len(set(names)) == 3 * 3 * 3 * 2 * 2 * 2 * 2 == zoo.grid_size(reference)
    assert all(re.fullmatch(r"[A-Za-z0-9]+", name) for name in names)  # Snakemake wildcards of rule train
    assert names[0] == "w8d2b32lr1em3wd0do0adam" and names[-1] == "w32d4b512lr1em2wd5em4do0p25sgd"
    spec = zoo.run_spec(reference, "w16d3b128lr1em2wd5em4do0p25sgd")
    assert spec == {"width": 16, "depth": 3, "batch_size": 128, "lr": 1e-2, "weight_decay": 5e-4, "dropout": 0.25, "optimizer": "sgd"}
    with pytest.raises(GenlabError, match=r"^zoo: no run named 'w1' in the config \(432 runs, e.g. w8d2b32lr1em3wd0do0adam, "):
        zoo.run_spec(reference, "w1")


def test_numbers_in_names_are_exact_and_wildcard_safe():
    assert [zoo.scientific(x) for x in (1e-3, 0.0015, 0.01, 5e-4, 0.0)] == ["1em3", "1p5em3", "1em2", "5em4", "0"]
    assert [zoo.plain(x) for x in (0.0, 0.25, 0.5)] == ["0", "0p25", "0p5"]


def test_a_runs_training_config_measures_the_whole_subset_every_epoch():
    config = planned()
    cfg = plan.train_config(config, "zoo", "w2d2b32lr1em3wd5em4do0p25sgd", 0)
    assert (cfg.arch, cfg.width, cfg.depth, cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.dropout, cfg.optimizer) == (
        "zoo_cnn", 2, 2, 32, 1e-3, 5e-4, 0.25, "sgd")
    assert cfg.eval_train_size is None and cfg.eval_epochs == "all" and cfg.epochs == config["zoo"]["max_epochs"]
    assert cfg.target_train_loss == 0.01 and cfg.stop_rule().describe() == "train_loss <= 0.01"
    assert history_columns(cfg) == TARGET_HISTORY_COLUMNS
    assert set(plan.subsets(config)) >= {"zoo"}  # one subset shared by every run


# ---------------------------------------------------------------- other experiments unchanged

# plan.provenance digests of config.yaml + tests/tiny.yaml with data fingerprint "fixed", computed on
# main (9df2e3b) before the zoo existed: the new TrainConfig fields must change no other experiment.
MAIN_DIGESTS = {
    "random_labels": "379812f4f189eda1", "params_vs_gen": "6cdfa547c6caa40b", "interpolation": "0c3cb3be1d328acd",
    "sensitivity": "9c62a96bd6e9a32b", "corruption": "ff468cb10361ab64",
}


def test_other_experiments_training_configs_and_digests_are_unchanged():
    config = validate(yaml.safe_load((REPO / "config.yaml").read_text()) | TINY_CONFIG, against_data=False)
    for name, digest in MAIN_DIGESTS.items():
        assert plan.provenance(config, name, {"digest": "fixed"})["digest"] == digest, name
        for cfg in plan.planned_configs(config, name):
            assert not set(OMITTED_AT_DEFAULT) & set(cfg.to_dict())


def test_a_checkpoint_config_from_before_the_zoo_still_loads():
    old = {k: v for k, v in _zoo_cfg(arch="shallow_cnn", width=None, depth=None, target_train_loss=None).to_dict().items()}
    assert not set(OMITTED_AT_DEFAULT) & set(old)
    cfg = TrainConfig.from_dict(old)
    assert (cfg.optimizer, cfg.weight_decay, cfg.dropout, cfg.depth, cfg.target_train_loss) == ("adam", 0.0, 0.0, None, None)
    assert cfg.to_dict() == old
    zoo_dict = _zoo_cfg(dropout=0.5, optimizer="sgd").to_dict()
    assert TrainConfig.from_dict(zoo_dict).to_dict() == zoo_dict and zoo_dict["optimizer"] == "sgd"


# ---------------------------------------------------------------- training features


def test_zoo_cnn_shapes_and_parameter_count():
    for width, depth in ((2, 1), (4, 3), (8, 2)):
        model = build_model("zoo_cnn", width, depth)
        assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
        assert n_params(model) == zoo.n_params(width, depth)
    with pytest.raises(GenlabError, match="zoo_cnn needs positive integer width and depth"):
        build_model("zoo_cnn", 4, None)


def test_a_reachable_target_stops_early_and_an_unreachable_one_runs_every_epoch(one_thread):
    data = _separable()
    reached = train(_zoo_cfg(epochs=30, target_train_loss=0.5), data, data)
    metrics = reached.stop_metrics(_zoo_cfg(epochs=30, target_train_loss=0.5))
    assert metrics[REACHED_TARGET] is True and metrics["epochs_trained"] < 30
    assert reached.history[-1]["train_loss"] <= 0.5 and not any(r[REACHED_TARGET] for r in reached.history[:-1])
    assert [r["step"] for r in reached.history] == [4 * (i + 1) for i in range(len(reached.history))]  # 64 / 16 steps an epoch
    first = next((r["step"] for r in reached.history if r["train_loss"] <= 0.1), None)
    assert metrics[STEPS_TO_LOSS] == first
    # The test split is measured only where training stops: the train loss is what each epoch needs.
    assert all(r["test_loss"] is None for r in reached.history[:-1]) and metrics["test_loss"] is not None

    far = _zoo_cfg(epochs=2, target_train_loss=1e-9)
    missed = train(far, data, data)
    metrics = missed.stop_metrics(far)
    assert metrics[REACHED_TARGET] is False and metrics["epochs_trained"] == 2 and len(missed.history) == 2
    assert missed.history[0]["test_loss"] is None and missed.history[-1]["n_test_eval"] == 32


def test_sgd_weight_decay_and_dropout_are_applied():
    model = build_model("zoo_cnn", 4, 2, 0.5)
    sgd = make_optimizer(model, _zoo_cfg(optimizer="sgd", weight_decay=5e-4, lr=0.05))
    assert isinstance(sgd, torch.optim.SGD)
    (group,) = sgd.param_groups
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.05, SGD_MOMENTUM, 5e-4)
    adam = make_optimizer(model, _zoo_cfg(weight_decay=1e-4))
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["weight_decay"] == 1e-4
    assert make_optimizer(model, _zoo_cfg()).param_groups[0]["weight_decay"] == 0.0  # the other experiments' Adam

    x = torch.rand(8, 1, 28, 28)
    plain = build_model("zoo_cnn", 4, 2, 0.0)
    plain.load_state_dict(model.state_dict())  # the Dropout module holds no weights: same layer indices
    torch.manual_seed(0)
    model.train()
    assert not torch.equal(model(x), model(x))  # dropout draws a new mask each pass
    model.eval()
    plain.eval()
    assert torch.equal(model(x), model(x)) and torch.allclose(model(x), plain(x))
    assert from_config(_zoo_cfg(dropout=0.5))[-2].p == 0.5


def test_dropout_runs_are_the_same_whatever_the_global_generator_held(one_thread):
    data = _separable(32)
    cfg = _zoo_cfg(dropout=0.5, epochs=2)
    torch.manual_seed(123)
    first = train(cfg, data, data)
    torch.rand(1000)  # a warm job forks from a process whose generator has moved on
    second = train(cfg, data, data)
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()))
    assert first.history == second.history


def test_stopping_rules_and_optimizers_are_checked():
    with pytest.raises(GenlabError, match="optimizer 'rmsprop' is not one of adam, sgd"):
        _zoo_cfg(optimizer="rmsprop")
    with pytest.raises(GenlabError, match=r"dropout must be in \[0, 1\), got 1.0"):
        _zoo_cfg(dropout=1.0)
    with pytest.raises(GenlabError, match="target_train_loss must be > 0"):
        _zoo_cfg(target_train_loss=0.0)
    with pytest.raises(GenlabError, match="two stopping rules"):
        _zoo_cfg(fit_threshold=1.0)


def test_zoo_runs_are_priced_at_max_epochs_by_their_flops():
    cals = [
        {"arch": "zoo_cnn", "width": 4, "depth": 1, "step_s": {128: 0.01}, "eval_s": 1e-5, "point_s": None},
        {"arch": "zoo_cnn", "width": 32, "depth": 4, "step_s": {128: 1.0}, "eval_s": 1e-3, "point_s": None},
    ]
    t = rates.Timing(cals)
    lo, hi, mid = (rates.forward_macs("zoo_cnn", w, d) for w, d in ((4, 1), (32, 4), (16, 2)))
    assert t.step_time("zoo_cnn", 16, 128, depth=2) == pytest.approx(0.01 + 0.99 * (mid - lo) / (hi - lo))
    model = cost.CostModel(t, 0.0, 0.0, 100)
    (row,) = cost.training_jobs([_zoo_cfg(width=16, depth=2, batch_size=128, n_train=256, epochs=10)], model)
    assert row["upper_bound"] and row["train_s"] == pytest.approx(10 * 2 * t.step_time("zoo_cnn", 16, 128, depth=2))
    # 256 training images every epoch, the 100 test images once (where the run stops).
    assert row["eval_s"] == pytest.approx((10 * 256 + 100) * t.eval_time("zoo_cnn", 16, depth=2))
    assert t.step_time("zoo_cnn", 16, 128, depth=2) < t.step_time("zoo_cnn", 16, 128, depth=4)
    assert {(c["width"], c.get("depth")) for c in rates.coarse_calibrations() if c["arch"] == "zoo_cnn"}  # parse time prices it


def test_measures_can_list_the_zoo_and_the_estimate_calibrates_its_shapes():
    from genlab import calibration
    from genlab.measures import plan as measure_plan

    config = _config()
    config["measures"]["experiments"] = ["zoo"]
    checked = validate(config, against_data=False)
    assert measure_plan.measured_checkpoints(checked) == [("zoo", run, 0) for run in zoo.run_names(checked["zoo"])]
    assert measure_plan.metrics_tables(checked) == ["results/metrics/zoo.csv"]  # with batch_size, as the measure claims need
    wanted = calibration.needed(checked)
    assert wanted[("zoo_cnn", 2, 1)] == wanted[("zoo_cnn", 2, 2)] == {32, 128}  # training batches and a measure's gradient


# ---------------------------------------------------------------- config errors


# The one-line errors of a bad zoo section are in tests/test_errors.py (CONFIG_CASES, PLAN_CASES).


def test_a_large_grid_runs_when_confirmed():
    config = _config(width=list(range(1, 101)), depth=list(range(1, 102)), optimizer=["adam"])
    config["zoo_confirm"] = True
    assert zoo.grid_size(validate(config, against_data=False)["zoo"]) == 10100


# ---------------------------------------------------------------- the runs table


def _history(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TARGET_HISTORY_COLUMNS)
        writer.writeheader()
        for epoch, (loss, acc) in enumerate(rows, 1):
            writer.writerow({"epoch": epoch, "step": 10 * epoch, "train_loss": loss, "train_accuracy": acc, "test_loss": loss + 0.2,
                             "test_accuracy": acc - 0.1, "train_loss_se": 0.01, "test_loss_se": 0.01, "n_train_eval": 100,
                             "n_test_eval": 50, REACHED_TARGET: loss <= 0.05, "seed": 0, "data_seed": 0})


def test_runs_table_has_every_hyperparameter_gap_and_stopping_record(tmp_path):
    config = planned()
    specs = zoo.run_specs(config)
    paths = []
    for i, spec in enumerate(specs):
        paths.append(tmp_path / f"h{i}.csv")
        _history(paths[-1], [(1.0, 0.6), (0.08, 0.97), (0.04, 1.0)] if i % 2 == 0 else [(1.2, 0.5), (0.5, 0.8)])
    out = tmp_path / "runs.csv"
    section = dict(config["zoo"], target_train_loss=0.05)
    zoo.write_runs([str(p) for p in paths], specs, section, out)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == zoo.RUNS_COLUMNS
    for column in ("width", "depth", "batch_size", "lr", "weight_decay", "dropout", "optimizer", "train_loss", "train_accuracy",
                   "test_loss", "test_accuracy", "gap", "loss_gap", REACHED_TARGET, "epochs_trained", STEPS_TO_LOSS, "n_params"):
        assert column in rows[0]
    assert [r["run"] for r in rows] == zoo.run_names(config["zoo"])
    fitted, missed = rows[0], rows[1]
    assert fitted[REACHED_TARGET] == "True" and fitted["epochs_trained"] == "3" and fitted[STEPS_TO_LOSS] == "20"
    assert float(fitted["gap"]) == pytest.approx(0.1) and float(fitted["loss_gap"]) == pytest.approx(0.2)
    assert missed[REACHED_TARGET] == "False" and missed["epochs_trained"] == "2" and missed[STEPS_TO_LOSS] == ""
    assert int(fitted["n_params"]) == zoo.n_params(2, 1) and missed["optimizer"] == "sgd"


# ---------------------------------------------------------------- the workflow


@pytest.mark.workflow
def test_the_workflow_builds_the_zoo_runs_table(tmp_path):
    root = write_mnist(tmp_path / "data")
    result = snakemake(tmp_path / "work", "zoo", data_root=root, extra=("experiments=[zoo]",))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "work" / zoo.RUNS_CSV) as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == zoo.run_names(planned()["zoo"])
    assert {r[REACHED_TARGET] for r in rows} == {"False"} and {r["epochs_trained"] for r in rows} == {"2"}  # 0.01 is out of reach
    history = tmp_path / "work/results/runs/zoo/w2d2b32lr1em3wd5em4do0p25sgd/seed0/history.csv"
    assert history.read_text().splitlines()[0].split(",") == TARGET_HISTORY_COLUMNS
    assert "results/runs/params_vs_gen" not in result.stderr  # only the zoo was planned
    # Measured (tests/tiny.yaml lists the zoo in measures.experiments), but no run reached the target:
    # the ranking says so instead of ranking nothing, and the figures are drawn all the same.
    with open(tmp_path / "work" / zoo.RANKING_CSV) as f:
        ranking = list(csv.DictReader(f))
    assert ranking and {r["n_unreached"] for r in ranking} == {"4"} and {r["n_runs"] for r in ranking} == {"0"}
    assert all((tmp_path / "work" / path).is_file() for path in zoo.FIGURES.values())
