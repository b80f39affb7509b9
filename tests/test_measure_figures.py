"""Kendall's tau, the measure ranking with its intervals and the measure figures, from hand-made CSVs."""

import itertools
import math
import random
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from figure_texts import texts_of

from genlab.atomic import write_csv
from genlab.errors import GenlabError
from genlab.measures import figures
from genlab.measures.figure_jobs import plot_job
from genlab.measures.figures import (
    measure_label,
    plot_landscape_1d,
    plot_landscape_2d,
    plot_measure_sweep,
    plot_measures_vs_generalization,
    scale_y,
    tau_title,
)
from genlab.measures.ranking import RANKING_COLUMNS, ranking
from genlab.ranks import kendall_tau

MEASURE_COLUMNS = ["experiment", "run", "seed", "measure", "value", "n_points", "std_error", "steps", "converged"]
METRIC_COLUMNS = [
    "experiment", "run", "seed", "epochs", "batch_size", "train_loss", "train_accuracy", "test_loss", "test_accuracy"
]
PNG = b"\x89PNG\r\n\x1a\n"
SETTINGS = "tiny preset \u00b7 measured: interpolation, sensitivity \u00b7 seed 0"


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
    assert list(table.columns) == RANKING_COLUMNS == [
        "measure", "kendall_tau", "tau_ci_low", "tau_ci_high", "n_checkpoints", "n_runs", "n_unconverged", "predictor"
    ]
    assert list(table["measure"]) == ["hessian_eig1", "keskar_0.001", "hessian_trace"]  # |tau| 1, 1 (by name), < 1
    assert list(table["kendall_tau"][:2]) == [-1.0, 1.0]
    assert list(table["n_checkpoints"]) == [12, 12, 12]
    assert list(table["n_runs"]) == [6, 6, 6]  # 6 runs of 2 seeds each
    # Every resample of a perfectly ordered set is perfectly ordered: the interval is the point.
    assert list(table["tau_ci_low"][:2]) == [-1.0, 1.0] and list(table["tau_ci_high"][:2]) == [-1.0, 1.0]
    assert list(table["predictor"][:2]) == [True, True]
    gaps = [0.01 * k + 0.001 * s for k in range(6) for s in (0, 1)]
    trace = [3.0 + (k % 2) for k in range(6) for _ in (0, 1)]
    assert table["kendall_tau"][2] == pytest.approx(brute_force_tau(trace, gaps))


def write_checkpoints(tmp_path, points):
    """points: (experiment, run, seed, gap, {measure: value}[, batch_size]); one metrics CSV, one measure CSV."""
    metrics, measures = [], []
    for experiment, run, seed, gap, values, *batch in points:
        metrics.append(dict(experiment=experiment, run=run, seed=seed, epochs=1, batch_size=(batch or [32])[0],
                            train_loss=0.1, train_accuracy=0.99, test_loss=0.2, test_accuracy=0.99 - gap))
        measures += [dict(experiment=experiment, run=run, seed=seed, measure=name, value=value, n_points=10,
                          std_error=None, steps=None, converged=None) for name, value in values.items()]
    write_csv(tmp_path / "measures.csv", measures, MEASURE_COLUMNS)
    write_csv(tmp_path / "metrics.csv", metrics, METRIC_COLUMNS)
    return tmp_path / "measures.csv", [tmp_path / "metrics.csv"]


def test_ranking_intervals_tell_a_predictor_from_noise_and_rerun_byte_identical(tmp_path):
    noise = [3.0, 1.0, 5.0, 2.0, 4.0, 0.5]  # tau -0.2 against the rising gaps
    points = [("sensitivity", f"batch{k}", seed, 0.01 * k + 0.001 * seed,
               {"gap_itself": 0.01 * k + 0.001 * seed, **({"noise": noise[k]} if seed == 0 else {})})
              for k in range(6) for seed in (0, 1)]
    points += [("interpolation", "batch0", 0, 0.3, {"gap_itself": 0.3})]  # same run name, another experiment
    points += [("corruption", f"noise{k}", 0, 0.5 + 0.1 * k, {"three": float(k)}) for k in range(3)]
    measures, metrics = write_checkpoints(tmp_path, points)
    table = ranking(measures, metrics).set_index("measure")
    exact = table.loc["gap_itself"]
    assert (exact["kendall_tau"], exact["tau_ci_low"], exact["tau_ci_high"]) == (1.0, 1.0, 1.0)
    assert exact["predictor"] and exact["n_checkpoints"] == 13
    assert exact["n_runs"] == 7  # 6 runs of 2 seeds, and batch0 of another experiment: runs, not seeds
    noisy = table.loc["noise"]
    assert noisy["kendall_tau"] == pytest.approx(kendall_tau(noise, range(6)))
    assert noisy["tau_ci_low"] < 0 < noisy["tau_ci_high"] and not noisy["predictor"]
    assert (noisy["n_checkpoints"], noisy["n_runs"]) == (6, 6)
    # Three perfectly ordered points resample to [1, 1], yet one ordering in six is that good by chance.
    few = table.loc["three"]
    assert (few["tau_ci_low"], few["tau_ci_high"]) == (1.0, 1.0) and not few["predictor"]
    assert list(table.index) == ["gap_itself", "three", "noise"]  # |tau| descending, then name
    # The table job: fixed bootstrap seed, so a rerun writes the same bytes.
    plot_job("ranking", str(tmp_path / "ranking.csv"), table=str(measures), metrics=[str(m) for m in metrics])
    first = (tmp_path / "ranking.csv").read_bytes()
    plot_job("ranking", str(tmp_path / "ranking.csv"), table=str(measures), metrics=[str(m) for m in metrics])
    assert (tmp_path / "ranking.csv").read_bytes() == first
    assert first.splitlines()[0] == b"measure,kendall_tau,tau_ci_low,tau_ci_high,n_checkpoints,n_runs,n_unconverged,predictor"


def test_titles_and_labels_are_readable():
    assert measure_label("keskar_0.0005") == "Keskar sharpness, \u03b5 = 0.0005 (%)"
    assert measure_label("average_sharpness_0.01") == "average sharpness (loss rise), \u03c3 = 0.01"
    assert measure_label("hessian_eig1") == "Hessian top eigenvalue"
    assert measure_label("hessian_eig2") == "Hessian eigenvalue 2"
    assert measure_label("hessian_trace") == "Hessian trace"
    assert measure_label("sensitivity").startswith("input sensitivity")
    assert measure_label("param_norm") == "param norm"
    row = dict(kendall_tau=0.48, tau_ci_low=0.1, tau_ci_high=0.79, n_checkpoints=15, n_runs=9, predictor=True)
    assert tau_title(row) == r"$\tau$ = 0.48 [0.10, 0.79], n = 15 (9 runs)"
    row.update(tau_ci_low=-0.05, predictor=False)
    assert tau_title(row).endswith("\n(interval contains 0: not a predictor)")
    row.update(kendall_tau=1.0, tau_ci_low=1.0, tau_ci_high=1.0, n_checkpoints=3, n_runs=1)
    assert tau_title(row) == r"$\tau$ = 1.00 [1.00, 1.00], n = 3 (1 run)" + "\n($|\\tau|$ within chance: not a predictor)"


def test_y_axis_goes_log_when_positive_values_span_a_decade():
    fig, ax = plt.subplots()
    try:
        assert scale_y(ax, [0.2, 1.0, 1.9]) == "" and ax.get_yscale() == "linear"
        assert scale_y(ax, [0.2, 2.8, 62.0]) == ", log scale" and ax.get_yscale() == "log"
        assert scale_y(ax, [-3.0, 0.2, 2.8, 62.0]) == ", symlog scale" and ax.get_yscale() == "symlog"
        assert ax.yaxis.get_transform().linthresh == 0.1  # linear within the smallest value's decade
        scale_y(ax, [-100.0, -5.0, 1e-11, 1e-8])
        assert ax.yaxis.get_transform().linthresh == 0.01  # 4 decades below 100, not 13
    finally:
        plt.close(fig)


def test_duplicate_metrics_rows_are_named(tmp_path):
    measures, metrics = write_study(tmp_path)
    with pytest.raises(GenlabError, match="experiment=sensitivity run=batch32 seed=0"):
        ranking(measures, [metrics[0], metrics[0]])


@pytest.fixture
def drawn(monkeypatch):
    """Each figure the module saves, after checking that no legend lies on an axes (its panels, the
    gap's twin axes, a colorbar): [(file name, {axes title or label: y scale}, every text drawn)]."""
    seen, save = [], figures.save_figure

    def checked_save(fig, path):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        assert all(ax.get_legend() is None for ax in fig.axes), f"{path}: a legend inside an axes"
        boxes = [ax.get_window_extent(renderer) for ax in fig.axes if ax.axison]
        for legend in fig.legends:
            assert not any(legend.get_window_extent(renderer).overlaps(box) for box in boxes), f"{path}: legend on a panel"
        assert fig.legends, f"{path}: no legend"
        scales = {ax.get_title() or ax.get_ylabel(): ax.get_yscale() for ax in fig.axes}
        seen.append((Path(path).name, scales, texts_of(fig)))
        save(fig, path)

    monkeypatch.setattr(figures, "save_figure", checked_save)
    return seen


def test_measure_figures_write_pngs(tmp_path, drawn):
    measures, metrics = write_study(tmp_path)
    plot_measures_vs_generalization(measures, metrics, tmp_path / "vs_gen.png", SETTINGS)
    names = ["keskar_0.001", "hessian_eig1", "hessian_trace", "keskar_0.5"]  # the last has no row: no panel
    marked = {"interpolation": {"A": "*", "B": "D"}}
    plot_measure_sweep(measures, metrics, tmp_path / "batch.png", "sensitivity", "batch_size", names, marked,
                       title="Sharpness vs batch size", settings=SETTINGS)
    plot_measure_sweep(measures, metrics, tmp_path / "linear.png", "sensitivity", "batch_size", names[:1], log_base=None)
    for name in ("vs_gen.png", "batch.png", "linear.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
    assert [name for name, *_ in drawn] == ["vs_gen.png", "batch.png", "linear.png"]
    for _, _, texts in drawn[:2]:
        assert any(text.endswith(SETTINGS) for text in texts), "the settings line under the title"
        assert not {"keskar_0.001", "hessian_eig1"} & set(texts), "panels titled with readable names"
    with pytest.raises(GenlabError, match="'keskar_0.5' has no row for experiment sensitivity"):
        plot_measure_sweep(measures, metrics, tmp_path / "none.png", "sensitivity", "batch_size", ["keskar_0.5"])
    with pytest.raises(GenlabError, match="no column 'width'"):
        plot_measure_sweep(measures, metrics, tmp_path / "none.png", "sensitivity", "width", names)


def test_every_measure_panel_has_a_readable_title_and_a_y_label(tmp_path, monkeypatch):
    panels = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, path: panels.extend(ax for ax in fig.axes if ax.axison))
    measures, metrics = write_study(tmp_path)
    plot_measures_vs_generalization(measures, metrics, tmp_path / "vs_gen.png")
    names = {row["measure"] for row in ranking(measures, metrics).to_dict("records")}
    assert len(panels) == len(names) > 1
    for ax in panels:
        name = ax.get_title().split("\n")[0]
        assert name in {measure_label(n) for n in names} and name not in names, ax.get_title()
        assert ax.get_ylabel().startswith(name), "the y axis says what is plotted (and its scale)"


def test_a_far_marked_run_puts_the_sweep_on_a_log_axis(tmp_path, drawn):
    """Experiment 4's Keskar sharpness spans 0.2 to 2.8; a marked interpolation solution has 62."""
    points = [("sensitivity", f"batch{b}", 0, 0.01 * i, {"keskar_0.001": 0.2 + 0.52 * i, "hessian_eig1": 5.0 + i}, b)
              for i, b in enumerate((16, 32, 64, 128, 256, 512))]
    points += [("interpolation", "A", 0, 0.08, {"keskar_0.001": 62.0, "hessian_eig1": 12.0}, 1024)]
    measures, metrics = write_checkpoints(tmp_path, points)
    plot_measure_sweep(measures, metrics, tmp_path / "sweep.png", "sensitivity", "batch_size",
                       ["keskar_0.001", "hessian_eig1"], {"interpolation": {"A": "*"}})
    (_, scales, _), = drawn
    assert scales[measure_label("keskar_0.001")] == "log"
    assert scales[measure_label("hessian_eig1")] == "linear"  # 5 to 12: within a decade
    plot_measures_vs_generalization(measures, metrics, tmp_path / "vs_gen.png")
    assert "log" in drawn[-1][1].values()


def test_landscape_figures_write_pngs(tmp_path, drawn):
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
    plot_landscape_1d(csvs_1d, tmp_path / "l1.png", SETTINGS)
    plot_landscape_2d(csvs_2d, tmp_path / "l2.png", SETTINGS)
    assert (tmp_path / "l1.png").read_bytes().startswith(PNG) and (tmp_path / "l2.png").read_bytes().startswith(PNG)
    assert [name for name, *_ in drawn] == ["l1.png", "l2.png"]
    (_, _, texts_1d), (_, _, texts_2d) = drawn
    for texts in (texts_1d, texts_2d):
        assert any(text.endswith(SETTINGS) for text in texts), "the settings line under the title"
    assert any("the trained weights" in text for text in texts_1d), "t = 0 is the checkpoint"
    assert any(text.startswith("+ = the trained weights") for text in texts_2d), "the + explained"
    assert any("log-spaced" in text for text in texts_2d), "the contour levels explained"
    assert any(text.startswith("cross-entropy loss") for text in texts_2d), "the colour bar labelled"
    holey = [dict(t1=0.0, t2=0.0, train_loss=1.0, test_loss=1.0)]
    write_csv(tmp_path / "holey.csv", holey, ["t1", "t2", "train_loss", "test_loss"])
    with pytest.raises(GenlabError, match="holey.csv is not a complete grid"):
        plot_landscape_2d({"A": tmp_path / "holey.csv"}, tmp_path / "bad.png")
