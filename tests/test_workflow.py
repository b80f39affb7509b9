"""End to end: the real Snakemake, real torch, real files, on synthetic MNIST."""

import csv
import json
import os
import re

import pytest

from mnist_files import write_mnist
from workflow_runner import FIGURES, REPO, TINY, planned_figures, planned_trainings, rules_run, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One complete run of the tiny config; the tests below inspect and poke it in order."""
    root = write_mnist(tmp_path_factory.mktemp("mnist"))
    work = tmp_path_factory.mktemp("work")
    result = snakemake(work, data_root=root)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "genlab: claims (results/claims.csv): " in result.stderr, "a run ends with the claims summary"
    assert "genlab: estimated (coarse" in result.stderr, "a run starts with its cost estimate"
    served = (work / "logs/warm_jobs.log").read_text()
    assert "train.py in" in served and "plot_random_labels.py in" in served, "local jobs fork from the warm server"
    return work, root


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_every_figure_and_table_is_built(built):
    work, _ = built
    for figure in FIGURES:
        assert (work / figure).stat().st_size > 10_000, figure
    widths = _csv(work / "results/metrics/params_vs_gen.csv")
    assert [int(r["n_params"]) for r in widths] == [676 * w * w + 21 * w + 10 for w in (2, 4)]
    history = _csv(work / "results/runs/random_labels/deep/seed0/history.csv")
    assert list(history[0])[:5] == ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    assert len(history) == 2
    alphas = [float(r["alpha"]) for r in _csv(work / "results/interpolation/seed0.csv")]
    assert alphas == [-1.0, 0.0, 1.0, 2.0]
    summary = _csv(work / "results/sensitivity/summary.csv")
    assert [int(r["batch_size"]) for r in summary] == [16, 64]
    assert all(float(r["sensitivity"]) > 0 for r in summary)
    assert not list((work / "results/resume").glob("*")), "resume states must be gone once runs finish"
    corruption = _csv(work / "results/corruption/summary.csv")
    assert [(r["corruption"], float(r["label_noise"])) for r in corruption] == [
        ("labels", 0.0), ("labels", 0.5), ("labels", 1.0), ("shuffled_pixels", 0.0), ("gaussian", 0.0),
    ]
    noisy = _csv(work / "results/runs/corruption/noise0p5/seed0/history.csv")
    assert {"step", "clean_train_accuracy", "corrupted_train_accuracy"} <= set(noisy[0])
    measures = _csv(work / "results/measures/all.csv")
    assert {"hessian_eig1", "hessian_trace", "sensitivity"} <= {r["measure"] for r in measures}
    claims = _csv(work / "results/claims.csv")
    assert list(claims[0]) == ["experiment", "claim", "kind", "held", "verdict", "effect", "ci_low", "ci_high", "n_seeds",
                               "evidence", "config_digest"]
    assert {r["kind"] for r in claims} == {"claim", "finding"}
    digest = (work / "results/config.yaml").read_text().split("# config digest: ")[1][:16]
    assert {r["config_digest"] for r in claims} == {digest}
    for name in ("params_vs_gen", "corruption"):  # the epochs a run trained, and how many images measured it
        for row in _csv(work / f"results/metrics/{name}.csv"):
            assert 1 <= int(row["epochs_trained"]) <= int(row["epochs"]) and int(row["n_test_eval"]) > 0
    assert {r["verdict"] for r in claims} <= {"held", "not_held", "inconclusive"}
    assert {r["experiment"] for r in claims} >= {"random_labels", "interpolation", "sensitivity", "corruption"}
    tables = list((work / "results").rglob("*.csv"))
    assert len(tables) > 20 and not [t for t in tables if b"\r\n" in t.read_bytes()], "every table ends its lines with LF"
    provenance = json.loads((work / "results/provenance/sensitivity.json").read_text())
    assert len(provenance["runs"]) == 2 and provenance["digest"]


def test_rerun_with_nothing_changed_does_nothing(built):
    work, root = built
    result = snakemake(work, "-n", data_root=root)
    assert result.returncode == 0
    assert rules_run(result.stdout + result.stderr) == []
    assert "Nothing to be done" in result.stdout + result.stderr


def test_deleting_one_figure_rebuilds_only_its_plot(built):
    work, root = built
    (work / "image/Flatness_vs_gen_p1_inter.png").unlink()
    result = snakemake(work, data_root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rules_run(result.stdout + result.stderr) == ["plot_interpolation", "all"]
    assert (work / "image/Flatness_vs_gen_p1_inter.png").exists()


def test_a_figure_target_builds_only_its_dependencies(built):
    work, root = built
    result = snakemake(work, "-n", "--forceall", "image/Nbr_para_gen_loss.png", data_root=root)
    assert result.returncode == 0
    assert sorted(set(rules_run(result.stdout + result.stderr))) == ["metrics", "plot_params_vs_gen", "provenance", "subset", "train"]


def test_changing_one_hyperparameter_reruns_only_affected_jobs(built, tmp_path):
    work, root = built
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.read_text().replace("sensitivity: {n_train: 100, lr: 1.0e-2", "sensitivity: {n_train: 100, lr: 2.0e-2"))
    result = snakemake(work, "-n", configfile=changed, data_root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = rules_run(result.stdout + result.stderr)
    assert sorted(set(jobs)) == [
        "all", "claims", "effective_config", "measure", "measures_ranking", "measures_table", "metrics",
        "plot_measures_vs_generalization", "plot_sensitivity", "plot_sharpness_vs_batch_size", "provenance",
        "sensitivity_measure", "sensitivity_summary", "train",
    ]
    # Only experiment 4's two networks retrain and are measured again; nothing else of the study.
    assert jobs.count("train") == 2 and jobs.count("measure") == 2 and jobs.count("metrics") == 1 and jobs.count("provenance") == 1


def test_runtime_settings_rerun_nothing(built, tmp_path):
    """eval_batch_size, threads, device, resume interval and the spelling of data_root change no result."""
    work, root = built
    relative = os.path.relpath(root, REPO)  # a relative data_root is relative to the checkout
    extra = ("eval_batch_size=7", "train_threads=2", "resume_interval_s=5", "device=cpu", "warm_jobs=False")
    result = snakemake(work, "-n", data_root=relative, extra=extra)
    assert result.returncode == 0, result.stderr[-3000:]
    assert rules_run(result.stdout + result.stderr) == [], result.stdout[-3000:]


def test_renaming_the_preset_redraws_only_the_figures(built):
    """preset is a label printed under the figures' titles: a new name retrains and remeasures nothing."""
    work, root = built
    result = snakemake(work, "-n", data_root=root, extra=("preset=renamed",))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = set(rules_run(result.stdout + result.stderr))
    plot_rules = {m for f in (REPO / "workflow/rules").glob("*.smk") for m in re.findall(r"^rule (plot_\w+):", f.read_text(), re.M)}
    assert jobs == plot_rules | {"all"}, "every figure names the preset; nothing else reruns"


def test_fresh_processes_give_the_results_of_warm_jobs(built, tmp_path):
    """warm_jobs: False runs every job in its own Python; every table is the same, bit for bit."""
    work, root = built
    cold = tmp_path / "cold"
    result = snakemake(cold, data_root=root, extra=("warm_jobs=False",))
    assert result.returncode == 0, result.stderr[-4000:]
    assert not (cold / "logs/warm_jobs.log").exists()
    tables = sorted(p.relative_to(work) for p in (work / "results").rglob("*.csv"))
    assert len(tables) > 20
    for table in tables:
        warm_rows, cold_rows = _csv(work / table), _csv(cold / table)
        timing = {c for c in (warm_rows[0] if warm_rows else {}) if c.endswith("seconds") or c.endswith("_s")}
        strip = lambda rows: [{k: v for k, v in row.items() if k not in timing} for row in rows]  # noqa: E731
        assert strip(warm_rows) == strip(cold_rows), table


def test_report_is_generated(built):
    work, root = built
    result = snakemake(work, "--report", str(work / "report.zip"), data_root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "report.zip").stat().st_size > 10_000


def test_report_made_with_another_config_says_so(built, tmp_path):
    work, root = built
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.read_text().replace("sensitivity: {n_train: 100, lr: 1.0e-2", "sensitivity: {n_train: 100, lr: 2.0e-2"))
    result = snakemake(work, "--report", str(tmp_path / "report.zip"), configfile=changed, data_root=root)
    notes = [line for line in result.stderr.splitlines() if line.startswith("genlab: note:")]
    assert len(notes) == 1 and "the sensitivity results on disk were made with another config" in notes[0], result.stderr[-2000:]


def test_reference_config_plans_every_figure(tmp_path):
    result = snakemake(tmp_path, "-n", configfile=None, data_root=tmp_path / "no-mnist-yet")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    for figure in planned_figures(None):
        assert figure in out
    assert rules_run(out).count("train") == planned_trainings(None) == 1 + 10 + 2 + 6 + 9 + 3 * 12 + 432  # the zoo: 3^3 x 2^4
    assert "subset" in rules_run(out)


def test_lint_is_clean():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "-s", str(REPO / "Snakefile"), "-d", str(REPO)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0 and "good condition" in result.stdout + result.stderr, result.stdout[-3000:]
