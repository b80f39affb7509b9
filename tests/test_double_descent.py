"""Experiment 6, double descent: runs, the nested noise draw, bad input, the threshold, the claims, the figures
and the workflow on the tiny config."""

import copy
import csv
import math
import re

import pandas as pd
import pytest
import torch
import yaml

from genlab import calibration, plan
from genlab.data import make_subset
from genlab.errors import GenlabError
from genlab.experiments import double_descent as exp
from genlab.experiments import double_descent_figures as figures
from genlab.stats import HELD, INCONCLUSIVE, NOT_HELD
from genlab.validate import validate
from mnist_files import write_mnist
from workflow_runner import TINY, rules_run, snakemake

TINY_CONFIG = yaml.safe_load(TINY.read_text())


def _config(**section):
    config = copy.deepcopy(TINY_CONFIG)
    config["experiments"] = ["double_descent"]
    config["double_descent"].update(section)
    return validate(config, against_data=False)


# ---------------------------------------------------------------- runs and the noise draw


def test_runs_subsets_and_train_configs():
    config = _config(label_noise=[0.0, 0.25], widths=[2, 5], seeds=[0, 3])
    assert exp.run_names(config["double_descent"]) == ["noise0p0width2", "noise0p0width5", "noise0p25width2", "noise0p25width5"]
    assert exp.run_spec(config["double_descent"], "noise0p25width5") == {"label_noise": 0.25, "width": 5}
    assert exp.subset_name("noise0p25width5") == "double_descent_noise0p25"
    cfg = plan.train_config(config, "double_descent", "noise0p25width5", 3)
    assert (cfg.arch, cfg.width, cfg.label_noise, cfg.input_corruption, cfg.fit_threshold, cfg.seed) == ("fc", 5, 0.25, "none", None, 3)
    subsets = plan.subsets(config)
    assert set(subsets) == {"double_descent_noise0p0", "double_descent_noise0p25"}  # one per noise level, shared by widths
    assert subsets["double_descent_noise0p25"]["label_noise"] == 0.25
    assert exp.n_params("fc", 5) == 795 * 5 + 10
    assert len(exp.histories(config)) == 8 and len(exp.run_specs(config)) == 8
    with pytest.raises(GenlabError, match="no run named 'noise0p5width2'"):
        exp.run_spec(config["double_descent"], "noise0p5width2")


def test_noise_draw_is_exact_nested_and_recorded_in_the_subset(tmp_path):
    root = write_mnist(tmp_path, n_train=600, n_test=50)
    config = _config(n_train=230, batch_size=10, label_noise=[0.0, 0.1, 0.3])
    subsets = {name: make_subset(root, params) for name, params in plan.subsets(config).items()}
    clean = subsets["double_descent_noise0p0"]
    assert clean["noise"] is None
    low, high = subsets["double_descent_noise0p1"], subsets["double_descent_noise0p3"]
    assert torch.equal(low["images"], clean["images"]) and torch.equal(high["images"], clean["images"])
    for subset, p in ((low, 0.1), (high, 0.3)):
        record = subset["noise"]
        assert record["label_noise"] == p
        assert int(record["chosen"].sum()) == round(p * 230)  # 23 and 69
        assert torch.equal(record["true_labels"], clean["labels"])
        assert torch.equal(subset["labels"], record["labels"])
        assert torch.equal(record["corrupted"], record["labels"] != clean["labels"])
    assert not (low["noise"]["chosen"] & ~high["noise"]["chosen"]).any(), "the examples chosen at 0.1 are chosen at 0.3"
    chosen = low["noise"]["chosen"]
    assert torch.equal(low["labels"][chosen], high["labels"][chosen]), "with the same drawn labels"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "section, message",
    [
        ({"widths": [4, 2, 8]}, "config key double_descent.widths.1: 2 is smaller than the width before it (4); widths must increase"),
        ({"widths": [2, 4, 4]}, "config key double_descent.widths: [2, 4, 4] has non-unique elements"),
        ({"widths": [0, 4]}, "config key double_descent.widths.0: 0 must be > 0"),
        ({"label_noise": [0.0, 1.0]}, "config key double_descent.label_noise.1: 1.0 must be < 1"),
        ({"label_noise": [-0.1]}, "config key double_descent.label_noise.0: -0.1 must be >= 0"),
        ({"model": "resnet"}, "config key double_descent.model: 'resnet' is not one of ['fc', 'width_cnn']"),
        ({"batch_size": 500}, "config key double_descent.batch_size: batch size 500 exceeds double_descent.n_train (100)"),
        ({"label_noise": [0.001]}, "config key double_descent.label_noise: 0.001 of n_train 100 images chooses no example (round(0.001 * 100) = 0)"),
    ],
)
def test_bad_input_is_one_line_naming_key_and_value(section, message):
    with pytest.raises(GenlabError) as err:
        _config(**section)
    assert str(err.value) == message


def test_check_itself_refuses_what_the_schema_would():
    """check() states the rules on its own too (a config built in code skips the schema)."""
    config = _config()
    for key, value, match in (
        ("widths", [2, 2], r"widths\.1: 2 repeats the width before it"),
        ("widths", [0, 2], r"widths\.0: 0 is not a positive integer width"),
        ("label_noise", [1.0], r"label_noise\.0: 1\.0 is outside \[0, 1\)"),
        ("model", "mlp", r"model: 'mlp' is not one of width_cnn, fc"),
    ):
        bad = copy.deepcopy(config)
        bad["double_descent"][key] = value
        with pytest.raises(GenlabError, match=r"^config key double_descent\." + match):
            exp.check(bad)


# ---------------------------------------------------------------- threshold and claims

WIDTHS = [4, 8, 16, 32, 64, 128]


def _table(curves: dict, train: dict | None = None, seeds=(0,), n_test=10000, jitter=0.0) -> pd.DataFrame:
    """A summary table: curves[p] the test error per width, train[p] the train error per width."""
    rows = []
    for p, errors in curves.items():
        fits = (train or {}).get(p) or [0.3, 0.1, 0.005, 0.0, 0.0, 0.0]
        for seed in seeds:
            for i, (w, e) in enumerate(zip(WIDTHS, errors)):
                rows.append({"model": "fc", "width": w, "n_params": 795 * w + 10, "label_noise": p, "seed": seed,
                             "train_error": fits[i], "test_error": e + jitter * ((seed * 7 + i) % 3 - 1),
                             "train_loss": 0.1, "test_loss": 1.0, "epochs": 10, "n_test_eval": n_test})
    return pd.DataFrame(rows)


def _by_name(rows):
    return {r["claim"]: r for r in rows}


def test_threshold_is_the_smallest_width_with_mean_train_error_at_most_one_percent():
    frame = _table({0.0: [0.1] * 6, 0.2: [0.1] * 6}, train={0.0: [0.02, 0.0, 0, 0, 0, 0], 0.2: [0.5, 0.2, 0.05, 0.011, 0.01, 0.0]})
    assert exp.thresholds(frame) == {0.0: 8.0, 0.2: 64.0}
    # the mean over seeds decides: 0.0 and 0.03 average to 0.015 > 0.01
    two = pd.concat([_table({0.1: [0.1] * 6}, train={0.1: [0.5, 0.2, 0.0, 0.0, 0, 0]}, seeds=(0,)),
                     _table({0.1: [0.1] * 6}, train={0.1: [0.5, 0.2, 0.03, 0.0, 0, 0]}, seeds=(1,))])
    assert exp.thresholds(two) == {0.1: 32.0}
    never = _table({0.4: [0.1] * 6}, train={0.4: [0.5, 0.4, 0.3, 0.2, 0.1, 0.02]})
    assert math.isnan(exp.thresholds(never)[0.4])


PEAKED = {  # threshold at width 16 (train error 0.005): peaks there at p > 0, the peak growing with p
    0.0: [0.12, 0.11, 0.10, 0.095, 0.09, 0.085],
    0.1: [0.18, 0.20, 0.24, 0.21, 0.17, 0.15],
    0.2: [0.22, 0.26, 0.33, 0.28, 0.22, 0.19],
}


@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)])
def test_claims_hold_on_a_clear_double_descent(seeds):
    rows = _by_name(exp.judge(_table(PEAKED, seeds=seeds, jitter=0.002)))
    assert [rows[n]["verdict"] for n in ("peak_near_threshold", "second_descent", "peak_grows_with_noise",
                                         "finding_no_peak_without_noise")] == [HELD] * 4
    assert rows["peak_near_threshold"]["effect"] == 0
    assert rows["second_descent"]["effect"] == pytest.approx(0.09, abs=0.003)
    assert rows["peak_grows_with_noise"]["n_seeds"] == len(seeds)
    assert re.search(r"p=0\.2: peak 0\.33\d at width 16, threshold 16,", rows["peak_near_threshold"]["evidence"])


def test_claims_not_held_on_monotone_curves():
    falling = {  # falling from the smallest width on, less steeply the noisier
        0.0: [0.30, 0.25, 0.20, 0.18, 0.17, 0.10],
        0.1: [0.35, 0.32, 0.30, 0.29, 0.28, 0.25],
        0.2: [0.40, 0.39, 0.38, 0.37, 0.36, 0.35],
    }
    rows = _by_name(exp.judge(_table(falling, train={p: [0.5, 0.2, 0.1, 0.05, 0.005, 0.0] for p in falling})))
    assert rows["peak_near_threshold"]["verdict"] == NOT_HELD  # highest at width 4, threshold 64: 4 positions
    assert rows["peak_near_threshold"]["effect"] == 4
    assert rows["second_descent"]["verdict"] == NOT_HELD  # the only descent is the first
    assert "highest at the smallest width" in rows["second_descent"]["evidence"]
    assert rows["peak_grows_with_noise"]["verdict"] == NOT_HELD  # heights 0.2, 0.1, 0.05
    assert rows["finding_no_peak_without_noise"]["verdict"] == HELD


def test_claims_disagree_where_the_clean_curve_peaks_and_the_peak_shrinks():
    shrinking = {0.0: [0.10, 0.12, 0.30, 0.12, 0.10, 0.09], 0.2: [0.20, 0.21, 0.24, 0.22, 0.20, 0.19]}
    rows = _by_name(exp.judge(_table(shrinking)))
    assert rows["finding_no_peak_without_noise"]["verdict"] == NOT_HELD
    assert rows["peak_grows_with_noise"]["verdict"] == NOT_HELD
    assert rows["second_descent"]["verdict"] == HELD


def test_claims_inconclusive():
    # A small test set: the 0.005 drop and the height differences are within the binomial error.
    flat = {0.0: [0.100, 0.100, 0.100, 0.100, 0.100, 0.100], 0.2: [0.200, 0.205, 0.215, 0.205, 0.200, 0.195]}
    rows = _by_name(exp.judge(_table(flat, n_test=200)))
    assert rows["second_descent"]["verdict"] == INCONCLUSIVE
    assert rows["peak_grows_with_noise"]["verdict"] == INCONCLUSIVE
    # No width fits at p = 0.2: no threshold to compare the peak with.
    unfitted = exp.judge(_table(PEAKED, train={p: [0.5, 0.4, 0.3, 0.2, 0.1, 0.05] for p in PEAKED}))
    assert _by_name(unfitted)["peak_near_threshold"]["verdict"] == INCONCLUSIVE
    # One seed without the test-set size: no interval.
    bare = _table(PEAKED).drop(columns="n_test_eval")
    assert {r["verdict"] for r in exp.judge(bare)} == {INCONCLUSIVE}
    # Too few widths, or no noise level above 0 / none at 0.
    few = _table(PEAKED).query("width <= 8")
    assert all(r["evidence"].startswith("cannot be tested: 2 width(s)") for r in exp.judge(few))
    clean = _by_name(exp.judge(_table({0.0: PEAKED[0.0]})))
    assert clean["peak_near_threshold"]["evidence"] == "cannot be tested: no noise level above 0"
    assert clean["peak_grows_with_noise"]["verdict"] == INCONCLUSIVE
    noisy = _by_name(exp.judge(_table({0.2: PEAKED[0.2]})))
    assert noisy["finding_no_peak_without_noise"]["evidence"] == "cannot be tested: no run at label noise 0"


def test_claims_read_the_summary_file(tmp_path):
    path = tmp_path / "summary.csv"
    _table(PEAKED).to_csv(path, index=False)
    assert [r["claim"] for r in exp.claims({"summary": [str(path)]})] == [
        "peak_near_threshold", "second_descent", "peak_grows_with_noise", "finding_no_peak_without_noise"]
    assert exp.claims({"summary": []}) == []
    assert exp.claim_inputs({}) == {"summary": [exp.SUMMARY_CSV]}


# ---------------------------------------------------------------- summary and figures


def _metrics_csv(path, config):
    section = config["double_descent"]
    rows = []
    for run in exp.run_names(section):
        spec = exp.run_spec(section, run)
        for seed in (0, 1):
            w, p = spec["width"], spec["label_noise"]
            rows.append({"experiment": "double_descent", "run": run, "seed": seed, "arch": "fc", "width": w, "n_train": 100,
                         "lr": 1e-3, "batch_size": 50, "epochs": 2, "n_params": exp.n_params("fc", w),
                         "train_loss": 0.5, "train_accuracy": min(1.0, 0.6 + 0.1 * w), "test_loss": 1.0,
                         "test_accuracy": 0.8 - p - 0.01 * seed, "n_test_eval": 50})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_summary_has_the_columns_and_thresholds(tmp_path):
    config = _config()
    _metrics_csv(tmp_path / "metrics.csv", config)
    exp.write_summary(tmp_path / "metrics.csv", exp.specs_by_run(config), tmp_path / "summary.csv")
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:10] == ["model", "width", "n_params", "label_noise", "seed", "train_error", "test_error",
                                  "train_loss", "test_loss", "epochs"]
    assert {"threshold_width", "threshold_n_params"} <= set(rows[0])
    assert [(float(r["label_noise"]), int(r["width"]), int(r["seed"])) for r in rows][:3] == [(0.0, 2, 0), (0.0, 2, 1), (0.0, 4, 0)]
    assert {r["threshold_width"] for r in rows} == {"4"}  # train accuracy 1.0 from width 4 on
    assert {r["threshold_n_params"] for r in rows} == {str(795 * 4 + 10)}
    with pytest.raises(GenlabError, match="run 'noise0p0width2' is not a double_descent run of the config"):
        exp.summary(tmp_path / "metrics.csv", {})


@pytest.mark.parametrize("seeds", [1, 2])
def test_both_figures_are_drawn_from_hand_made_csvs(tmp_path, seeds):
    config = _config(seeds=list(range(seeds)))
    _metrics_csv(tmp_path / "metrics.csv", config)
    exp.write_summary(tmp_path / "metrics.csv", exp.specs_by_run(config), tmp_path / "summary.csv")
    paths = []
    for (run, seed), spec in zip(plan.all_runs(config, "double_descent"), exp.run_specs(config)):
        path = tmp_path / f"{run}_{seed}.csv"
        epochs = [1, 2, 4, 8]
        pd.DataFrame({"epoch": epochs, "train_loss": 0.5, "train_accuracy": 0.9, "test_loss": 1.0,
                      "test_accuracy": [0.7, 0.6 - spec["label_noise"], 0.65, 0.7], "seed": seed, "data_seed": 0}).to_csv(path, index=False)
        paths.append(str(path))
    pngs = {key: str(tmp_path / f"{key}.png") for key in exp.FIGURES}
    figures.plot(paths, exp.run_specs(config), tmp_path / "summary.csv", pngs)
    assert all((tmp_path / f"{key}.png").stat().st_size > 10_000 for key in exp.FIGURES)


# ---------------------------------------------------------------- the workflow


@pytest.mark.workflow
def test_workflow_draws_both_figures_and_the_claims_on_the_tiny_config(tmp_path):
    root = write_mnist(tmp_path / "mnist")
    work = tmp_path / "work"
    result = snakemake(work, "double_descent", "results/claims.csv", data_root=root, extra=("experiments=[double_descent]",))
    assert result.returncode == 0, result.stderr[-4000:]
    for figure in exp.FIGURES.values():
        assert (work / figure).stat().st_size > 10_000, figure
    assert "double_descent_summary" in rules_run(result.stderr)
    summary = pd.read_csv(work / exp.SUMMARY_CSV)
    assert len(summary) == 6 and list(summary.columns) == exp.SUMMARY_COLUMNS
    assert (work / "results/runs/double_descent/noise0p2width8/seed0/history.csv").is_file()
    claims = pd.read_csv(work / "results/claims.csv")
    assert set(claims["experiment"]) == {"double_descent"}
    assert set(claims["claim"]) == {"peak_near_threshold", "second_descent", "peak_grows_with_noise", "finding_no_peak_without_noise"}
    # Its checkpoints can be measured: measures.experiments lists it, the ranking covers them (no retraining).
    result = snakemake(work, "results/measures/ranking.csv", data_root=root,
                       extra=("experiments=[double_descent]", "measures={experiments: [double_descent], measures: [hessian, keskar]}"))
    assert result.returncode == 0, result.stderr[-4000:]
    jobs = rules_run(result.stderr)
    assert "train" not in jobs and jobs.count("measure") == 6
    measured = pd.read_csv(work / "results/measures/all.csv")
    assert set(measured["experiment"]) == {"double_descent"} and measured["run"].nunique() == 6


def test_fc_is_calibrated_at_three_widths():
    picked = []

    def fake(arch, batches, threads, device, width=None, **kwargs):
        picked.append((arch, width))
        return {"arch": arch, "width": width, "step_s": {b: 1e-3 for b in batches}, "eval_s": 1e-5, "point_s": None}

    config = _config(widths=[2, 3, 5, 8, 13, 21])
    calibration.calibrate_plan(config, "cpu", 1, fake)
    assert sorted(picked) == [("fc", 2), ("fc", 8), ("fc", 21)]
