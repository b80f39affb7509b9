"""Kendall's tau, the measure ranking and the measure figures, from hand-made CSVs."""

import itertools
import math
import random

import pytest

from genlab.atomic import write_csv
from genlab.errors import GenlabError
from genlab.measures.figures import (
    kendall_tau,
    plot_landscape_1d,
    plot_landscape_2d,
    plot_measure_sweep,
    plot_measures_vs_generalization,
    ranking,
)

MEASURE_COLUMNS = ["experiment", "run", "seed", "measure", "value", "n_points", "std_error", "steps", "converged"]
METRIC_COLUMNS = [
    "experiment", "run", "seed", "epochs", "batch_size", "train_loss", "train_accuracy", "test_loss", "test_accuracy"
]
PNG = b"\x89PNG\r\n\x1a\n"


def brute_force_tau(x, y):
    concordant = discordant = tied_x_only = tied_y_only = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        sx, sy = (x[i] > x[j]) - (x[i] < x[j]), (y[i] > y[j]) - (y[i] < y[j])
        if sx == 0 and sy == 0:
            continue
        if sx == 0:
            tied_x_only += 1
        elif sy == 0:
            tied_y_only += 1
        elif sx == sy:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / math.sqrt(
        (concordant + discordant + tied_x_only) * (concordant + discordant + tied_y_only)
    )


def test_kendall_tau_matches_a_brute_force_pair_count_with_ties():
    rng = random.Random(0)
    for n in (2, 3, 7, 20):
        for _ in range(10):
            x = [rng.randint(0, 4) for _ in range(n)]  # many ties
            y = [rng.randint(0, 3) + 0.5 * rng.random() * (n % 2) for _ in range(n)]
            if len(set(x)) < 2 or len(set(y)) < 2:
                continue
            assert kendall_tau(x, y) == pytest.approx(brute_force_tau(x, y), abs=1e-12)
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0 and kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3])) and math.isnan(kendall_tau([1], [2]))
    with pytest.raises(GenlabError, match="equal length"):
        kendall_tau([1, 2], [1, 2, 3])


def write_study(tmp_path):
    """Sensitivity runs (batch 32..256, 2 seeds) and interpolation A (1024), B (64)."""
    metrics, measures = [], []
    runs = [("sensitivity", f"batch{b}", b) for b in (32, 64, 128, 256)]
    runs += [("interpolation", "A", 1024), ("interpolation", "B", 64)]
    for k, (experiment, run, batch) in enumerate(runs):
        for seed in (0, 1):
            gap = 0.01 * k + 0.001 * seed  # grows along the list
            metrics.append(dict(experiment=experiment, run=run, seed=seed, epochs=5, batch_size=batch, train_loss=0.1,
                                train_accuracy=0.99, test_loss=0.2, test_accuracy=0.99 - gap))
            values = {
                "keskar_0.001": 1.0 + k + 0.5 * seed,  # same order as the gap
                "hessian_eig1": 10.0 - k - 0.1 * seed,  # reversed
                "hessian_trace": 3.0 + (k % 2),  # half tied
            }
            for name, value in values.items():
                measures.append(dict(experiment=experiment, run=run, seed=seed, measure=name, value=value,
                                     n_points=100, std_error=None, steps=None, converged=None))
    measures.append(dict(experiment="sensitivity", run="batch999", seed=0, measure="hessian_eig1", value=1.0,
                         n_points=100, std_error=None, steps=None, converged=None))  # no metrics row: left out
    write_csv(tmp_path / "measures.csv", measures, MEASURE_COLUMNS)
    sens = [m for m in metrics if m["experiment"] == "sensitivity"]
    write_csv(tmp_path / "sensitivity.csv", sens, METRIC_COLUMNS)
    write_csv(tmp_path / "interpolation.csv", [m for m in metrics if m not in sens], METRIC_COLUMNS)
    return tmp_path / "measures.csv", [tmp_path / "sensitivity.csv", tmp_path / "interpolation.csv"]


def test_ranking_on_hand_made_csvs(tmp_path):
    measures, metrics = write_study(tmp_path)
    table = ranking(measures, metrics)
    assert list(table.columns) == ["measure", "kendall_tau", "n_checkpoints"]
    assert list(table["measure"]) == ["hessian_eig1", "keskar_0.001", "hessian_trace"]  # |tau| 1, 1 (by name), < 1
    assert list(table["kendall_tau"][:2]) == [-1.0, 1.0]
    assert list(table["n_checkpoints"]) == [12, 12, 12]
    gaps = [0.01 * k + 0.001 * s for k in range(6) for s in (0, 1)]
    trace = [3.0 + (k % 2) for k in range(6) for _ in (0, 1)]
    assert table["kendall_tau"][2] == pytest.approx(brute_force_tau(trace, gaps))


def test_duplicate_metrics_rows_are_named(tmp_path):
    measures, metrics = write_study(tmp_path)
    with pytest.raises(GenlabError, match="experiment=sensitivity run=batch32 seed=0"):
        ranking(measures, [metrics[0], metrics[0]])


def test_measure_figures_write_pngs(tmp_path):
    measures, metrics = write_study(tmp_path)
    plot_measures_vs_generalization(measures, metrics, tmp_path / "vs_gen.png")
    names = ["keskar_0.001", "hessian_eig1", "hessian_trace", "keskar_0.5"]  # the last has no row: no panel
    marked = {"interpolation": {"A": "*", "B": "D"}}
    plot_measure_sweep(measures, metrics, tmp_path / "batch.png", "sensitivity", "batch_size", names, marked,
                       title="Sharpness vs batch size")
    plot_measure_sweep(measures, metrics, tmp_path / "linear.png", "sensitivity", "batch_size", names[:1], log_base=None)
    for name in ("vs_gen.png", "batch.png", "linear.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
    with pytest.raises(GenlabError, match="'keskar_0.5' has no row for experiment sensitivity"):
        plot_measure_sweep(measures, metrics, tmp_path / "none.png", "sensitivity", "batch_size", ["keskar_0.5"])
    with pytest.raises(GenlabError, match="no column 'width'"):
        plot_measure_sweep(measures, metrics, tmp_path / "none.png", "sensitivity", "width", names)


def test_landscape_figures_write_pngs(tmp_path):
    csvs_1d, csvs_2d = {}, {}
    for label, curvature in (("A", 4.0), ("B", 1.0)):
        ts = [t / 4 for t in range(-4, 5)]
        rows = [dict(t=t, train_loss=0.05 + curvature * t**2, train_accuracy=1 - 0.1 * abs(t),
                     test_loss=0.1 + curvature * t**2, test_accuracy=0.98 - 0.1 * abs(t)) for t in ts]
        csvs_1d[label] = tmp_path / f"{label}_1d.csv"
        write_csv(csvs_1d[label], rows, list(rows[0]))
        grid = [dict(t1=a, t2=b, train_loss=0.05 + curvature * (a**2 + b**2), train_accuracy=0.9,
                     test_loss=0.1 + curvature * (a**2 + 0.5 * b**2), test_accuracy=0.9)
                for a in (-1, -0.5, 0, 0.5, 1) for b in (-1, -0.5, 0, 0.5, 1)]
        csvs_2d[label] = tmp_path / f"{label}_2d.csv"
        write_csv(csvs_2d[label], grid, list(grid[0]))
    plot_landscape_1d(csvs_1d, tmp_path / "l1.png")
    plot_landscape_2d(csvs_2d, tmp_path / "l2.png")
    assert (tmp_path / "l1.png").read_bytes().startswith(PNG) and (tmp_path / "l2.png").read_bytes().startswith(PNG)
    holey = [dict(t1=0.0, t2=0.0, train_loss=1.0, test_loss=1.0)]
    write_csv(tmp_path / "holey.csv", holey, ["t1", "t2", "train_loss", "test_loss"])
    with pytest.raises(GenlabError, match="holey.csv is not a complete grid"):
        plot_landscape_2d({"A": tmp_path / "holey.csv"}, tmp_path / "bad.png")
