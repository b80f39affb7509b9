"""genlab estimate: the cost model on hand-made times (no timing), and the CLI with a fake calibration."""

import math
import re
import subprocess
import sys

import pytest

from genlab import calibration, cost, estimate, plan, rates, scheduling
from genlab.cli import check_config_files, load_config, main, parse_config_overrides
from genlab.config import TrainConfig, eval_epochs
from workflow_runner import REPO, TINY, snakemake_cmd

CONFIG = str(REPO / "config.yaml")
QUICK = str(REPO / "presets/quick.yaml")


def cfg(**overrides) -> TrainConfig:
    fields = dict(experiment="random_labels", run="deep", seed=0, arch="deep_cnn", width=None, lr=1e-3,
                  batch_size=100, epochs=10, n_train=1000, data_seed=0, permuted_labels=True)
    return TrainConfig(**{**fields, **overrides})


def per_batch(arch, width, batch, depth=None):  # 1 ms per sample + 5 ms per step
    return 0.001 * batch + 0.005


def per_image(arch, width, depth=None):
    return 0.0001


class Times:
    """A Timing of hand-made functions (depth: zoo_cnn's, passed only where there is one)."""

    def __init__(self, step=per_batch, image=per_image, point=lambda arch, width, depth=None: 0.002):
        self.step_time, self.eval_time, self.point_time = step, image, point


def model(fixed=3.0, n_test=10000, **times):
    return cost.CostModel(Times(**times), fixed, min(fixed, cost.LIGHT_JOB_S), n_test)


def test_training_time_is_epochs_times_steps_times_step_time():
    (row,) = cost.training_jobs([cfg(eval_epochs="final")], model())
    assert row["steps_per_epoch"] == 10 and row["step_s"] == pytest.approx(0.105)
    assert row["train_s"] == pytest.approx(10 * 10 * 0.105)
    assert row["eval_images"] == 1000 + 10000 and row["evaluated_epochs"] == 1
    assert row["eval_s"] == pytest.approx(11000 * 0.0001)
    assert row["total_s"] == pytest.approx(10.5 + 1.1 + 3.0)
    # Twice the epochs: twice the steps; a partial last batch is a step (ceil).
    (longer,) = cost.training_jobs([cfg(epochs=20, eval_epochs="final")], model())
    assert longer["train_s"] == pytest.approx(2 * row["train_s"])
    (ragged,) = cost.training_jobs([cfg(n_train=1001, eval_epochs="final")], model())
    assert ragged["steps_per_epoch"] == 11


@pytest.mark.parametrize("schedule", ["all", "final", "log"])
def test_evaluations_follow_the_schedule_and_eval_sizes(schedule):
    run = cfg(epochs=500, eval_epochs=schedule, eval_train_size=300, eval_test_size=700)
    (row,) = cost.training_jobs([run], model(0.0))
    assert row["evaluated_epochs"] == len(eval_epochs(schedule, 500)) == {"all": 500, "final": 1, "log": len(run.evaluated_epochs())}[schedule]
    assert row["eval_images"] == 1000
    assert row["eval_s"] == pytest.approx(row["evaluated_epochs"] * 1000 * 0.0001)


def test_fit_runs_are_upper_bounds_at_their_max_epochs():
    (row,) = cost.training_jobs([cfg(experiment="corruption", run="noise0p2", fit_threshold=1.0)], model(0.0))
    assert row["upper_bound"] and row["train_s"] == pytest.approx(10 * 10 * 0.105)


STAGES = {"subset": cost.SETUP, "train": cost.TRAIN, "interpolate": cost.MEASURE, "plot": cost.FIGURE}


def rows(*totals, experiment="x", rule="train"):
    return [model(0.0).job(experiment, rule, f"j{i}", t, STAGES[rule]) for i, t in enumerate(totals)]


def test_parallelism_sum_over_jobs_at_once_or_the_longest_chain():
    four = rows(10, 10, 10, 10)
    assert cost.summarize(four, 1)["total"]["wall_s"] == pytest.approx(40)
    assert cost.summarize(four, 2)["total"]["wall_s"] == pytest.approx(20)
    assert cost.summarize(four, 8)["total"]["wall_s"] == pytest.approx(10)  # the longest job
    # The chain subset -> longest training -> measure -> plot bounds it from below.
    chain = rows(1, rule="subset") + rows(10, 50) + rows(5, rule="interpolate") + rows(2, rule="plot")
    s = cost.summarize(chain, 16)
    assert s["total"]["critical_s"] == pytest.approx(58) and s["total"]["wall_s"] == pytest.approx(58)
    assert s["total"]["job_s"] == pytest.approx(68) and s["total"]["longest_s"] == 50
    assert cost.parallel_jobs(cores=2, train_threads=1) == 2
    assert cost.parallel_jobs(cores=2, train_threads=2) == 1
    assert cost.parallel_jobs(cores=1, train_threads=4) == 1


def test_experiment_jobs_and_light_jobs_of_the_reference_config():
    config = check_config_files([CONFIG])
    config["seeds"] = [0, 1]
    plan_rows = cost.plan_jobs(config, model())
    interp = [r for r in plan_rows if r["rule"] == "interpolate"]
    sens = [r for r in plan_rows if r["rule"] == "sensitivity_measure"]
    assert len(interp) == 2 and interp[0]["what"] == "16 alphas x 2000 images"
    assert interp[0]["total_s"] == pytest.approx(16 * 2000 * 0.0001 + 3.0)
    assert interp[0]["reads"] == ["interpolation/A/seed0", "interpolation/B/seed0"]
    assert len(sens) == 12 and sens[0]["total_s"] == pytest.approx(1000 * 0.002 + 3.0)
    trains = [r for r in plan_rows if r["rule"] == "train"]
    assert len(trains) == 2 * (1 + 10 + 2 + 6 + 9 + 3 * 12 + 432)  # the zoo: 3 x 3 x 3 x 2 x 2 x 2 x 2 combinations
    subsets = [r for r in plan_rows if r["rule"] == "subset"]
    assert len(subsets) == 5 + 9 + 3  # one per experiment, one per corruption run, one per double-descent noise level
    zoo = [r for r in trains if r["experiment"] == "zoo"]
    assert all(r["upper_bound"] for r in zoo)  # trained to a target loss: counted at max_epochs


def test_only_chosen_experiments_are_counted():
    config = check_config_files([CONFIG])
    config["experiments"] = ["params_vs_gen"]
    experiments = {r["experiment"] for r in cost.plan_jobs(config, model())}
    assert experiments == {"params_vs_gen", "measures", cost.STUDY}
    table = estimate.table([], cost.summarize(cost.plan_jobs(config, model()), 2))
    assert [line.split()[0] for line in table[1:]] == ["params_vs_gen", "measures"]  # experiments only


@pytest.mark.workflow
@pytest.mark.parametrize("files, extra", [
    ([QUICK], ()),
    ([str(TINY)], ()),
    ([QUICK], ("experiments=[params_vs_gen,sensitivity]",)),
    ([CONFIG], ()),
])
def test_job_count_is_snakemakes(tmp_path, files, extra):
    """The estimate plans exactly the jobs `snakemake -n` lists, for presets and a choice of experiments."""
    config = load_config(files, parse_config_overrides(list(extra)))
    planned = len(cost.plan_jobs(config, model()))
    cmd = [*snakemake_cmd(tmp_path, "-n", configfile=None, extra=extra)]
    for path in files:
        cmd[cmd.index("--cores"):cmd.index("--cores")] = ["--configfile", path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    totals = re.findall(r"^total\s+(\d+)$", out.stdout + out.stderr, flags=re.M)
    assert totals and int(totals[-1]) == planned


def test_timing_interpolates_batches_and_widths():
    cals = [
        {"arch": "deep_cnn", "width": None, "step_s": {64: 0.064, 256: 0.512}, "eval_s": 1e-3, "point_s": None},
        {"arch": "width_cnn", "width": 2, "step_s": {128: 0.128}, "eval_s": 1e-5, "point_s": None},
        {"arch": "width_cnn", "width": 20, "step_s": {128: 1.28}, "eval_s": 1e-4, "point_s": None},
    ]
    t = rates.Timing(cals)
    assert t.step_time("deep_cnn", None, 64) == pytest.approx(0.064)
    assert t.step_time("deep_cnn", None, 128) == pytest.approx(128 * 0.0015)  # per sample halfway in log2(batch)
    assert t.step_time("deep_cnn", None, 1024) == pytest.approx(1024 * 0.002)  # clamped per-sample time
    assert t.step_time("deep_cnn", None, 32) == pytest.approx(32 * 0.001)
    assert t.step_time("width_cnn", 20, 128) == pytest.approx(1.28)
    mid = rates.forward_macs("width_cnn", 11)
    lo, hi = rates.forward_macs("width_cnn", 2), rates.forward_macs("width_cnn", 20)
    assert t.step_time("width_cnn", 11, 128) == pytest.approx(0.128 + (1.28 - 0.128) * (mid - lo) / (hi - lo))
    assert t.point_time("deep_cnn", None) == pytest.approx(rates.POINT_OVER_EVAL * 1e-3)
    assert calibration.calibration_widths([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]) == [2, 12, 20]


def test_the_fc_arch_is_priced_like_width_cnn():
    """fc (784-H-10) has coarse rates at two widths, interpolated in forward MACs; any arch with a width is
    calibrated at three of its widths (tests/test_double_descent.py checks fc's)."""
    t = rates.Timing(rates.coarse_calibrations())
    assert rates.forward_macs("fc", 100) == 784 * 100 + 100 * 10
    assert t.step_time("fc", 8, 128) < t.step_time("fc", 64, 128) < t.step_time("fc", 512, 128)
    assert t.eval_time("fc", 8) < t.eval_time("fc", 512)
    picked = []

    def fake(arch, batches, threads, device, width=None, **kwargs):
        picked.append((arch, width))
        return {"arch": arch, "width": width, "step_s": {b: 1e-3 for b in batches}, "eval_s": 1e-5, "point_s": None}

    config = check_config_files([str(REPO / "config.yaml")])
    config["experiments"] = ["params_vs_gen"]
    calibration.calibrate_plan(config, "cpu", 1, fake)
    widths = sorted(w for _, w in picked)
    assert len(widths) == 3, widths  # smallest, middle and largest width, not one calibration per width


def test_duration_text():
    assert [estimate.duration(s) for s in (42, 200, 7500, 100_000, 300_000)] == [
        "42 s", "3 min 20 s", "2 h 05 min", "1 day 3 h", "3 days 11 h"]


def fake_calibrate(calls):
    def calibrate(arch, batch_sizes, threads, device, width=None, **kwargs):
        calls.append((arch, width, tuple(batch_sizes), threads, device, kwargs.get("jacobian"), kwargs.get("depth")))
        per_sample = {"deep_cnn": 2e-3, "width_cnn": 2e-4, "shallow_cnn": 2e-4, "fc": 5e-5, "zoo_cnn": 5e-4}[arch]
        return {"arch": arch, "width": width, "depth": kwargs.get("depth"), "device": device, "threads": threads, "precision": "fp32", "source": "fake",
                "step_s": {b: per_sample * b for b in batch_sizes}, "eval_s": per_sample / 3,
                "point_s": 1e-3 if kwargs.get("jacobian") else None, "seconds": 0.0}
    return calibrate


def test_cli_reference_config_is_more_than_a_day(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(calibration, "calibrate", fake_calibrate(calls))
    monkeypatch.setattr(calibration, "measure_fixed_cost", lambda: (3.0, 2.0))
    assert main(["estimate", CONFIG, "--device", "cpu", "--cores", "2"]) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last.startswith("total on this CPU: about") and "1 at a time" in last  # train_threads 2 on 2 cores
    assert "more than a day on this CPU: try presets/quick.yaml" in last
    assert "upper bound" in last
    for experiment in ("random_labels", "params_vs_gen", "interpolation", "sensitivity", "corruption", "double_descent", "zoo"):
        assert f"\n{experiment}" in out
    assert {(arch, width) for arch, width, *_ in calls} == {
        ("deep_cnn", None), ("width_cnn", 2), ("width_cnn", 12), ("width_cnn", 20), ("shallow_cnn", None),
        ("fc", 8), ("fc", 64), ("fc", 1024),  # double descent's smallest, middle and largest width
        ("zoo_cnn", 8), ("zoo_cnn", 16), ("zoo_cnn", 32)}
    # The zoo's cheapest, middle and dearest shapes in forward FLOPs; the others interpolated between them.
    assert sorted((c[1], c[6]) for c in calls if c[0] == "zoo_cnn") == [(8, 2), (16, 3), (32, 4)]
    deep = next(c for c in calls if c[0] == "deep_cnn")
    assert deep[2] == (64, 128, 1024) and deep[3] == 2 and deep[4] == "cpu"
    assert next(c for c in calls if c[0] == "shallow_cnn")[5] is True  # Jacobian timed for experiment 4's network


def test_cli_quick_preset_with_overrides(monkeypatch, capsys):
    monkeypatch.setattr(calibration, "calibrate", fake_calibrate([]))
    # Experiments 1-4 of the quick preset, corruption shrunk by --config as snakemake --config would.
    assert main(["estimate", CONFIG, QUICK, "--device", "cpu", "--cores", "2", "--fixed-cost", "3", "--jobs",
                 "--config", "train_threads=2", "corruption={n_train: 100, epochs: 2}"]) == 2  # BaseLoader: strings
    assert "config key corruption." in capsys.readouterr().err
    assert main(["estimate", CONFIG, QUICK, "--device", "cpu", "--cores", "2", "--fixed-cost", "3", "--jobs",
                 "--config", "train_threads=2"]) == 0
    out = capsys.readouterr().out
    assert "1 job(s) at a time" in out and "interpolation/A/seed0" in out and "fixed cost per job: 3.0 s (given)" in out


def test_config_overrides_parse_like_snakemake():
    from genlab.cli import parse_config_overrides

    assert parse_config_overrides(["aa=1", "bb=0.5", "cc=True", "dd=x", "ee="]) == {"aa": 1, "bb": 0.5, "cc": True, "dd": "x", "ee": None}
    assert parse_config_overrides(["ss={epochs: 5}"]) == {"ss": {"epochs": "5"}}


def test_one_line_total_imports_no_torch():
    code = (
        "import sys, yaml; from genlab import estimate; from genlab.config import check_config, load_schema;"
        f"c = check_config(yaml.safe_load(open({CONFIG!r})), load_schema({str(REPO / 'workflow/schemas/config.schema.yaml')!r}));"
        "print(estimate.one_line_total(c, 2)); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == "False"
    assert "more than a day on this CPU: try presets/quick.yaml" in out[0] and "coarse" in out[0]


def test_calibrate_runs_genlab_code_briefly():
    cal = calibration.calibrate("shallow_cnn", [4, 8], 1, "cpu", eval_batch_size=16, jacobian=True, target_s=0.0)
    assert set(cal["step_s"]) == {4, 8} and all(v > 0 for v in cal["step_s"].values())
    assert cal["eval_s"] > 0 and cal["point_s"] > 0 and cal["device"] == "cpu"
    assert calibration.calibrate("shallow_cnn", [8, 4], 1, "cpu", eval_batch_size=16, jacobian=True, target_s=0.0) is cal
    assert math.isfinite(rates.Timing([cal]).step_time("shallow_cnn", None, 6))


def test_flatness_measures_are_counted_per_checkpoint():
    from genlab.measures import plan as measure_plan

    config = check_config_files([CONFIG])
    section = config["measures"]
    rows = cost.measure_jobs(config, model(step=lambda a, w, b, depth=None: 0.001 * b))
    measure = [r for r in rows if r["rule"] == "measure"]
    assert len(measure) == len(measure_plan.measured_checkpoints(config))
    per_point = (2 * (section["hessian"]["iters"] + section["hessian"]["probes"]) * 0.001
                 + len(section["keskar_eps"]) * section["keskar_steps"] * 0.001
                 + len(section["average_sigma"]) * (section["samples"] + 1) * 0.0001)
    assert measure[0]["total_s"] == pytest.approx(section["n_points"] * per_point + 3.0) and measure[0]["upper_bound"]
    land = [r for r in rows if r["rule"] == "landscape"]
    lc = section["landscape"]
    points = lc["points_1d"] + lc["points_2d"] ** 2
    assert len(land) == len(lc["runs"]) and land[0]["total_s"] == pytest.approx(points * 2000 * 0.0001 + 3.0)
    # A measure waits for its training: the critical path runs through both.
    train = cost.training_jobs([plan.train_config(config, "interpolation", "A", 0)], model(step=lambda a, w, b, depth=None: 0.001 * b))
    chained = [r for r in rows if r.get("chain") == "interpolation"]
    s = cost.summarize(train + chained, 64)
    assert s["total"]["critical_s"] == pytest.approx(train[0]["total_s"] + max(r["total_s"] for r in chained))


def test_priorities_start_the_longest_work_first():
    config = check_config_files([str(REPO / "config.yaml"), str(REPO / "presets/quick.yaml")])
    p = scheduling.priorities(config)
    train = {job: v for (rule, job), v in p.items() if rule == "train"}
    assert max(train, key=train.get) == "corruption/noise0p0/seed0"  # 80 epochs of the deep CNN at most
    assert train["interpolation/A/seed0"] > train["interpolation/B/seed0"] > train["params_vs_gen/width20/seed0"] > train["params_vs_gen/width2/seed0"]
    # interpolating A and B costs more than any width or sensitivity run: it must not wait behind them
    assert p[("interpolate", "interpolation/seed0")] > max(train[f"params_vs_gen/width{w}/seed0"] for w in (2, 20))
    assert p[("interpolate", "interpolation/seed0")] > max(v for (rule, _), v in p.items() if rule == "sensitivity_measure")
    assert scheduling.UNBLOCKING_PRIORITY > max(p.values())
    # a training's priority counts its experiment's job that reads its checkpoint: B, then interpolating
    coarse = cost.model_for(config, rates.Timing(rates.coarse_calibrations()), 0.0)
    rows = {(r["rule"], r["job"]): r["work_s"] for r in cost.plan_jobs(config, coarse)}
    assert p[("train", "interpolation/B/seed0")] == int(rows[("train", "interpolation/B/seed0")] + rows[("interpolate", "interpolation/seed0")])
    assert p[("train", "sensitivity/batch32/seed0")] == int(rows[("train", "sensitivity/batch32/seed0")] + rows[("sensitivity_measure", "sensitivity/batch32/seed0")])
    assert p[("train", "params_vs_gen/width2/seed0")] == int(rows[("train", "params_vs_gen/width2/seed0")])  # flatness measures count for themselves
