"""The measure steps of the workflow: config checks, per-checkpoint jobs, the tidy table, on tiny real checkpoints."""

import csv

import pytest
import yaml

from genlab import experiments, plan
from genlab.checkpoint import load_checkpoint
from genlab.config import check_config, load_schema
from genlab.data import subset_job
from genlab.errors import GenlabError
from genlab.experiments.sensitivity import sensitivity_job
from genlab.fingerprint import data_fingerprint
from genlab.jobs import metrics_job, train_job
from genlab.measures.ranking import RANKING_COLUMNS
from genlab.measures import checks, keskar, tables
from genlab.measures import jobs as mj
from genlab.measures import landscape as landscape_kind
from genlab.measures import plan as mp
from genlab.measures.figure_jobs import plot_job
from genlab.measures.rows import KEY, MEASURE_COLUMNS, measure_suffix
from genlab.validate import validate
from workflow_runner import REPO, TINY

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")
CHUNK = 64  # tiny.yaml's eval_batch_size: training evaluated in chunks of 64, so must the landscape


pytestmark = pytest.mark.usefixtures("one_thread")


def load(*files, **overrides) -> dict:
    merged = {}
    for path in files:
        merged.update(yaml.safe_load(open(path)) or {})
    merged.update(overrides)
    return check_config(merged, SCHEMA)


@pytest.fixture(scope="module")
def study(tmp_path_factory, mnist_root):
    """tiny.yaml's experiment-4 subset and two of its checkpoints (batch 16 and batch 64, seed 0)."""
    work = tmp_path_factory.mktemp("measures")
    config = load(REPO / "config.yaml", TINY, data_root=str(mnist_root))
    fingerprint = data_fingerprint(mnist_root)
    name = plan.subset_name("sensitivity", "batch16")
    subset = work / f"{name}.pt"
    subset_job(str(subset), str(mnist_root), plan.subsets(config)[name], fingerprint)
    checkpoints, planned = {}, {}
    for run in ("batch16", "batch64"):
        cfg = plan.train_config(config, "sensitivity", run, 0).to_dict()
        path = work / run / "checkpoint.pt"
        train_job(cfg, str(subset), str(mnist_root), str(path), str(work / run / "history.csv"), str(work / "resume"),
                  fingerprint, threads=1, device="cpu", eval_batch_size=CHUNK)
        checkpoints[run], planned[run] = path, cfg
    return dict(work=work, config=config, fingerprint=fingerprint, subset=subset, checkpoints=checkpoints, planned=planned,
                root=mnist_root)


def measure(study, run="batch16", checkpoint=None, out=None):
    return mj.measure_job(
        str(checkpoint or study["checkpoints"][run]), study["planned"][run], str(study["subset"]), str(study["root"]),
        str(out or study["work"] / f"measures_{run}.csv"), mp.measure_options(study["config"]), study["fingerprint"],
        threads=1, device="cpu", chunk_size=CHUNK,
    )


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_measure_job_writes_the_tidy_table(study):
    out = study["work"] / "measures_batch16.csv"
    measure(study, out=out)
    table = rows(out)
    assert list(table[0]) == MEASURE_COLUMNS
    assert [r["measure"] for r in table] == [
        "hessian_eig1", "hessian_eig_min", "hessian_trace", "hessian_trace_conv1", "hessian_trace_dense1",
        "keskar_0.001", "keskar_0.0005", "average_sharpness_0.001", "average_sharpness_0.01",
    ]
    assert {(r["experiment"], r["run"], r["seed"], r["n_points"]) for r in table} == {("sensitivity", "batch16", "0", "20")}
    by = {r["measure"]: r for r in table}
    assert float(by["hessian_eig1"]["value"]) >= float(by["hessian_eig_min"]["value"])
    assert by["hessian_eig1"]["steps"] == "5" and by["keskar_0.001"]["steps"] in {"1", "2", "3"}
    assert float(by["keskar_0.001"]["value"]) >= 0 and by["average_sharpness_0.01"]["std_error"] != ""
    first = out.read_bytes()
    measure(study, out=out)
    assert out.read_bytes() == first, "a rerun must write the same bytes"


def test_a_checkpoint_of_another_run_is_refused_in_one_line(study):
    with pytest.raises(GenlabError) as error:
        measure(study, "batch16", checkpoint=study["checkpoints"]["batch64"], out=study["work"] / "refused.csv")
    message = str(error.value)
    assert "not the run planned" in message and "batch_size=64 (planned 16)" in message and "\n" not in message
    assert not (study["work"] / "refused.csv").exists()


def test_landscape_origin_is_the_checkpoint_loss_exactly(study):
    cfg = study["planned"]["batch16"]
    out_1d, out_2d = study["work"] / "l_1d.csv", study["work"] / "l_2d.csv"
    # The evaluation sets the training job measured its final metrics on: the whole subset, the first 50 test images.
    options = {"landscape": {"points_1d": 5, "points_2d": 3, "eval_train_size": cfg["eval_train_size"],
                             "eval_test_size": cfg["eval_test_size"], "seed": 7}, "seed": 0}
    mj.landscape_job(
        str(study["checkpoints"]["batch16"]), cfg, str(study["subset"]), str(study["root"]), str(out_1d), str(out_2d),
        options, study["fingerprint"], threads=1, device="cpu", chunk_size=CHUNK,
    )
    final = load_checkpoint(study["checkpoints"]["batch16"])["metrics"]
    curve, grid = rows(out_1d), rows(out_2d)
    assert list(curve[0]) == [*KEY, *landscape_kind.COLUMNS_1D] and list(grid[0]) == [*KEY, *landscape_kind.COLUMNS_2D]
    assert [float(r["t"]) for r in curve] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert [(float(r["t1"]), float(r["t2"])) for r in grid] == [(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)]
    assert {r["direction_seed"] for r in curve} == {"7"} and {(r["direction_seed_1"], r["direction_seed_2"]) for r in grid} == {("7", "8")}
    for point in (curve[2], grid[4]):
        for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
            assert float(point[key]) == final[key], key
    assert float(curve[0]["train_loss"]) != final["train_loss"]


def test_measures_table_adds_extra_tables_and_is_byte_identical(study):
    work = study["work"]
    measure(study, "batch64")
    sens = {}
    for run in ("batch16", "batch64"):
        sens[run] = work / f"sens_{run}.csv"
        sensitivity_job(str(study["checkpoints"][run]), study["planned"][run], str(study["root"]), str(sens[run]), 20,
                        "softmax", study["fingerprint"], threads=1, device="cpu")
    measures = [work / "measures_batch64.csv", work / "measures_batch16.csv"]
    out = work / "all.csv"
    extra = [(sens[run], "sensitivity", "sensitivity") for run in ("batch16", "batch64")]
    tables.measures_table_job(measures, extra, out)
    table = rows(out)
    assert list(table[0]) == MEASURE_COLUMNS
    assert [r["run"] for r in table] == ["batch64"] * 10 + ["batch16"] * 10  # input order of the runs, kept
    assert [r["measure"] for r in table][9::10] == ["sensitivity", "sensitivity"]
    assert table[9]["value"] == rows(sens["batch64"])[0]["sensitivity"] and table[9]["n_points"] == "20"
    first = out.read_bytes()
    tables.measures_table_job(measures, extra[::-1], out)
    assert out.read_bytes() == first
    with pytest.raises(GenlabError, match="appears twice"):
        tables.measures_table(measures + measures[:1])
    # An extra table without n_points, under another name: its value column becomes the measure's value.
    other = tables.measures_table(measures[:1], [(sens["batch64"], "sensitivity_test_loss", "test_loss")])
    last = other.iloc[-1]
    assert last["measure"] == "sensitivity_test_loss" and last["value"] == rows(sens["batch64"])[0]["test_loss"]
    # The ranking and figures read it: with two checkpoints every measure has a tau of +-1 (or NaN if tied).
    metrics = work / "metrics.csv"
    metrics_job([str(study["checkpoints"][r]) for r in ("batch16", "batch64")], [study["planned"][r] for r in ("batch16", "batch64")],
                study["fingerprint"], str(metrics))
    plot_job("ranking", str(work / "ranking.csv"), table=str(out), metrics=[str(metrics)])
    ranking = rows(work / "ranking.csv")
    # 10 measures, less the 2 per-layer traces, which name different layers in different networks.
    assert list(ranking[0]) == RANKING_COLUMNS and len(ranking) == 8
    assert {r["n_checkpoints"] for r in ranking} == {"2"} and {r["n_runs"] for r in ranking} == {"2"}
    assert {r["predictor"] for r in ranking} == {"False"}  # two checkpoints cannot make a predictor


def stand_in_checkpoint_measures(config):
    """What an experiment module's checkpoint_measures returns: one extra table per run and seed."""
    return [(f"results/sens/{run}/seed{seed}.csv", "sens", "sens") for run, seed in plan.all_runs(config, "sensitivity")]


@pytest.fixture
def extra_from_sensitivity(monkeypatch):
    monkeypatch.setattr(experiments.get("sensitivity"), "checkpoint_measures", stand_in_checkpoint_measures, raising=False)


def test_reference_quick_and_tiny_configs_pass():
    for files in ([REPO / "config.yaml"], [REPO / "config.yaml", REPO / "presets/quick.yaml"], [REPO / "config.yaml", TINY]):
        checks.check(load(*files))
    reference = load(REPO / "config.yaml")
    assert reference["measures"] == load()["measures"], "config.yaml must equal the schema's defaults"
    options = mp.measure_options(reference)
    assert options["hessian"] == {"k": 3, "iters": 100, "probes": 100, "tol": 1e-3}
    assert options["measures"] == ["hessian", "keskar", "average_sharpness"] and "landscape" not in options
    assert [e for e, _, _ in mp.measured_checkpoints(reference)][:1] == ["params_vs_gen"]
    assert mp.landscape_checkpoints(reference) == [("interpolation", "A", 0), ("interpolation", "B", 0)]
    assert list(mp.landscape_labels(reference)) == ["A (batch 1024)", "B (batch 64)"]
    assert mp.landscape_options(reference)["landscape"] == {k: v for k, v in reference["measures"]["landscape"].items() if k != "runs"}
    for eps in (1e-3, 5e-4, 0.01, 1e-5, 1):
        assert keskar.measure_name(eps) == f"keskar_{measure_suffix(eps)}"
    grid = landscape_kind.grid
    assert grid(3) == [-1.0, 0.0, 1.0] and grid(51)[25] == 0.0 and grid(51)[0] == -1.0


BAD = [  # each through genlab.validate: the schema states single keys, genlab.measures.checks the rest
    ({"keskar_eps": [1e-3, 0.0]}, "config key measures.keskar_eps.1: 0.0 must be > 0"),
    ({"keskar_eps": [-1e-3]}, "config key measures.keskar_eps.0: -0.001 must be > 0"),
    ({"n_points": 101}, "config key measures.n_points: 101 exceeds params_vs_gen.n_train (100)"),
    ({"hessian": {"k": 0}}, "config key measures.hessian.k: 0 must be > 0"),
    ({"hessian": {"k": 5, "iters": 5}}, "config key measures.hessian.iters: 5 must be an integer >= 6"),
    ({"hessian": {"probes": 1}}, "config key measures.hessian.probes: 1 is not valid under any"),
    ({"measures": ["hessian", "flatness"]}, "config key measures.measures: 'flatness' is not one of hessian, keskar, average_sharpness"),
    ({"measures": ["keskar", "keskar"]}, "config key measures.measures: ['keskar', 'keskar'] has non-unique elements"),
    ({"measures": ["landscape"]}, "config key measures.measures: 'landscape' is not one of hessian, keskar, average_sharpness"),
    ({"experiments": ["sensitivity", "mnist"]}, "config key measures.experiments: 'mnist' is not one of random_labels"),
    ({"average_sigma": [1e-3, 0.001]}, "config key measures.average_sigma: [0.001, 0.001] has non-unique elements"),
    ({"samples": 1}, "config key measures.samples: 1 must be >= 2"),
    ({"keskar_eps": []}, "config key measures.keskar_eps: empty, but measures.measures lists keskar"),
    ({"average_sigma": []}, "config key measures.average_sigma: empty, but measures.measures lists average_sharpness"),
    ({"landscape": {"runs": ["interp/A"]}}, "config key measures.landscape.runs: 'interp/A' names unknown experiment 'interp'"),
    ({"landscape": {"runs": ["interpolation/C"]}}, "config key measures.landscape.runs: 'interpolation/C': interpolation has no run 'C'"),
    ({"landscape": {"runs": ["interpolation"]}}, "config key measures.landscape.runs.0: 'interpolation' does not match"),
    ({"landscape": {"runs": ["interpolation/A", "interpolation/A"]}}, "config key measures.landscape.runs: ['interpolation/A', 'interpolation/A'] has non-unique"),
    ({"landscape": {"points_1d": 2}}, "config key measures.landscape.points_1d: 2 must be >= 3"),
    ({"landscape": {"points_2d": 1}}, "config key measures.landscape.points_2d: 1 must be >= 3"),
    ({"landscape": {"points_2d": 4}}, "config key measures.landscape.points_2d: 4 should not be valid under {'multipleOf': 2}"),
    ({"landscape": {"eval_train_size": 500}}, "config key measures.landscape.eval_train_size: 500 exceeds interpolation.n_train (100)"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[m.split(":")[0].split()[-1] + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_each_bad_measures_key_is_one_line_naming_it(change, message):
    config = {**yaml.safe_load(open(REPO / "config.yaml")), **yaml.safe_load(open(TINY))}
    for key, value in change.items():
        if isinstance(value, dict):
            config["measures"][key] = {**config["measures"].get(key, {}), **value}
        else:
            config["measures"][key] = value
    with pytest.raises(GenlabError) as error:
        validate(config, against_data=False)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_landscape_test_images_must_fit_the_test_split(mnist_root):
    config = load(REPO / "config.yaml", TINY, data_root=str(mnist_root))
    checks.check_against_data(config)
    config["measures"]["landscape"]["eval_test_size"] = 201  # the synthetic test split has 200 images
    with pytest.raises(GenlabError, match=r"^config key measures.landscape.eval_test_size: 201 exceeds the 200 test images in"):
        checks.check_against_data(config)
    config["measures"]["landscape"]["runs"] = []  # no landscape drawn: no test images needed
    checks.check_against_data(config)


def test_measures_follow_the_chosen_experiments():
    config = load(REPO / "config.yaml", TINY, experiments=["params_vs_gen", "sensitivity"])
    config["interpolation"]["n_train"] = 10  # fewer than n_points (20): no matter, its runs are not measured
    checks.check(config)  # nor is a landscape run of an experiment not chosen an error: it is skipped
    assert mp.measured_experiments(config) == ["params_vs_gen", "sensitivity"]
    assert {e for e, _, _ in mp.measured_checkpoints(config)} == {"params_vs_gen", "sensitivity"}
    assert mp.landscape_checkpoints(config) == [] and mp.landscape_experiments(config) == []
    assert mp.outputs(config) == [mp.TABLE, mp.RANKING, mp.FIGURES["vs_generalization"]]
    config["measures"]["landscape"]["eval_train_size"] = 500  # only the drawn runs' subsets count
    checks.check(config)


def test_the_schema_names_a_bad_measures_key_too():
    with pytest.raises(GenlabError, match=r"config key measures.keskar_eps.0: 0 must be > 0"):
        load(REPO / "config.yaml", measures={"keskar_eps": [0]})
    with pytest.raises(GenlabError, match=r"unknown config key measures.hessian.top"):
        load(REPO / "config.yaml", measures={"hessian": {"top": 3}})
    with pytest.raises(GenlabError, match=r"config key measures.hessian.k: 0 must be > 0"):
        load(REPO / "config.yaml", measures={"hessian": {"k": 0}})


def test_targets_follow_the_config(extra_from_sensitivity):
    reference = load(REPO / "config.yaml")
    assert mp.outputs(reference) == [
        "results/measures/all.csv", "results/measures/ranking.csv", "image/Measures_vs_generalization.png",
        "image/Flatness_landscape_1d.png", "image/Flatness_landscape_2d.png",
    ]
    assert len(mp.measure_tables(reference)) == 10 + 2 + 6 + 9 + 432  # the zoo's checkpoints are ranked too
    assert mp.extra_tables(reference) == stand_in_checkpoint_measures(reference) and len(mp.extra_csvs(reference)) == 6
    assert mp.metrics_tables(reference) == [f"results/metrics/{e}.csv" for e in ("params_vs_gen", "interpolation", "sensitivity", "corruption", "zoo")]
    assert mp.landscape_curves(reference, "2d") == {"A (batch 1024)": ["results/landscape/interpolation/A/seed0_2d.csv"],
                                                    "B (batch 64)": ["results/landscape/interpolation/B/seed0_2d.csv"]}
    no_landscape = load(REPO / "config.yaml", measures={"landscape": {"runs": []}, "experiments": ["params_vs_gen"]})
    assert mp.outputs(no_landscape) == [mp.TABLE, mp.RANKING, mp.FIGURES["vs_generalization"]]
    assert mp.extra_tables(no_landscape) == []
    nothing = load(REPO / "config.yaml", measures={"measures": [], "landscape": {"runs": []}})
    assert mp.outputs(nothing) == [] and mp.measured_experiments(nothing) == [] and mp.extra_tables(nothing) == []
