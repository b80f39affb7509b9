"""The experiments' figures from hand-made CSVs: the settings line under every title, A and B on the
interpolation curve, legends outside the data."""

from pathlib import Path

import pytest
from figure_texts import texts_of

from genlab import plots
from genlab.atomic import write_csv
from genlab.cli import check_config_files
from genlab.experiments import interpolation, params_vs_gen, random_labels, sensitivity
from genlab.plots import measured_settings_line, settings_line

REPO = Path(__file__).resolve().parents[1]
SETTINGS = "quick preset \u00b7 1000 training images \u00b7 20 epochs \u00b7 seed 0"


def config(*presets: str) -> dict:
    return check_config_files([str(REPO / "config.yaml"), *(str(REPO / p) for p in presets)])


def test_the_settings_line_names_the_preset_images_epochs_and_seeds():
    quick, cpu_hour = config("presets/quick.yaml"), config("presets/cpu_hour.yaml")
    assert settings_line(quick, "params_vs_gen") == SETTINGS
    assert settings_line(quick, "interpolation").endswith("2000 training images \u00b7 epochs A 20, B 10 \u00b7 seed 0")
    assert "at most 80 epochs" in settings_line(quick, "corruption"), "runs stop once they fit"
    assert settings_line(cpu_hour, "sensitivity").startswith("cpu_hour preset \u00b7 ")
    assert settings_line(cpu_hour, "sensitivity").endswith(" \u00b7 seeds 0, 1, 2")
    assert settings_line(config("tests/tiny.yaml"), "interpolation").endswith("\u00b7 1 epoch \u00b7 seed 0")
    assert settings_line(config(), "random_labels") == "reference preset \u00b7 5000 training images \u00b7 500 epochs \u00b7 seed 0"
    assert measured_settings_line(cpu_hour, ["params_vs_gen", "sensitivity"]) == (
        "cpu_hour preset \u00b7 measured: params_vs_gen, sensitivity \u00b7 seeds 0, 1, 2"
    )


@pytest.fixture
def drawn(monkeypatch):
    """{file name: every text of the figure}, after checking that no legend lies on an axes."""
    seen, save = {}, plots.save_figure

    def checked_save(fig, path):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        frames = [ax.get_window_extent(renderer) for ax in fig.axes]
        for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]:
            assert not any(legend.get_window_extent(renderer).overlaps(f) for f in frames), f"{path}: legend on the data"
        seen[Path(path).name] = texts_of(fig)
        save(fig, path)

    monkeypatch.setattr(plots, "save_figure", checked_save)
    return seen


def _rows(xs, x, **extra):
    return [dict({x: v, "train_loss": 2.3 * 0.3**i, "train_accuracy": 0.5 + 0.05 * i, "test_loss": 1.2 / (1 + i),
                  "test_accuracy": 0.45 + 0.05 * i}, **extra) for i, v in enumerate(xs)]


def test_every_experiment_figure_carries_the_settings_line_and_logs_a_loss_spanning_decades(tmp_path, drawn):
    history, metrics, summary = tmp_path / "h.csv", tmp_path / "m.csv", tmp_path / "s.csv"
    rows = _rows(range(1, 6), "epoch", seed=0)
    write_csv(history, rows, list(rows[0]))
    rows = _rows([100, 1000, 10000], "n_params", seed=0)
    write_csv(metrics, rows, list(rows[0]))
    rows = _rows([16, 64, 256], "batch_size", seed=0, sensitivity=0.3, output="softmax")
    write_csv(summary, rows, list(rows[0]))
    random_labels.plot([str(history)], tmp_path / "rl_loss.png", tmp_path / "rl_acc.png", SETTINGS)
    params_vs_gen.plot(str(metrics), tmp_path / "pg_loss.png", tmp_path / "pg_acc.png", SETTINGS)
    sensitivity.plot(str(summary), tmp_path / "s_acc.png", tmp_path / "s_loss.png", SETTINGS)
    assert len(drawn) == 6
    for name, texts in drawn.items():
        assert any(text.endswith("\n" + SETTINGS) for text in texts), f"{name}: the settings line under the title"
        log_axis = any(text.endswith(", log scale") for text in texts)
        assert log_axis == ("loss" in name), f"{name}: a loss spanning decades on a log axis, accuracies linear"


def test_the_interpolation_figure_marks_solutions_a_and_b(tmp_path, drawn):
    curve = tmp_path / "seed0.csv"
    rows = _rows([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0], "alpha", seed_a=0, seed_b=0)
    write_csv(curve, rows, list(rows[0]))
    solutions = interpolation.solution_labels(config("presets/quick.yaml"))
    assert solutions == {"A": "batch 1024, lr 0.01", "B": "batch 64, lr 0.001"}
    interpolation.plot([str(curve)], tmp_path / "inter.png", SETTINGS, solutions)
    texts = drawn["inter.png"]
    assert {"A", "B"} <= set(texts), "A and B named on the curve's top axis"
    assert r"A ($\alpha$ = 0): batch 1024, lr 0.01" in texts and r"B ($\alpha$ = 1): batch 64, lr 0.001" in texts
    assert any(text.endswith(SETTINGS) for text in texts)
