"""Experiment 5 (corrupted data): the corruptions, the run plan, the summary and the figures, on synthetic tensors."""

import copy
import csv
import re

import numpy as np
import pytest
import torch

from genlab import corrupt, plots
from genlab.config import TrainConfig
from genlab.errors import GenlabError
from genlab.columns import FIT_HISTORY_COLUMNS
from genlab.experiments import corruption as exp
from genlab.experiments import corruption_figures as figures
from genlab.experiments import corruption_summary as summaries
from genlab.mnist import to_float
from genlab.validate import validate
from figure_texts import texts_of
from mnist_files import synthetic_split


def _split(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = synthetic_split(n, seed)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize("n", [1, 5, 7, 100, 1001])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.2, 0.5, 0.7, 0.999, 1.0])
def test_exactly_round_p_n_examples_are_chosen(n, p):
    labels = torch.arange(n) % 10
    new, chosen = corrupt.corrupt_labels(labels, p, _g(n))
    assert chosen.dtype == torch.bool and chosen.shape == (n,)
    assert int(chosen.sum()) == round(p * n) == corrupt.n_chosen(n, p)
    assert torch.equal(new[~chosen], labels[~chosen])  # only chosen examples change


def test_ties_round_to_even():
    assert [corrupt.n_chosen(5, 0.5), corrupt.n_chosen(5, 0.1), corrupt.n_chosen(5, 0.3), corrupt.n_chosen(2, 0.25)] == [2, 0, 2, 0]


def test_drawn_labels_cover_all_classes_and_corrupted_means_changed():
    labels = torch.zeros(3000, dtype=torch.int64) + 3
    new, chosen = corrupt.corrupt_labels(labels, 1.0, _g(1))
    assert sorted(new[chosen].unique().tolist()) == list(range(10))
    corrupted = corrupt.corrupted_mask(new, labels)
    assert torch.equal(corrupted, new != labels)
    assert not (corrupted & ~chosen).any()  # corrupted examples are chosen ones
    # Drawing the true class again is allowed (Zhang): about a tenth of the chosen keep their label.
    kept = int((chosen & ~corrupted).sum())
    assert 200 < kept < 400 and int(corrupted.sum()) == 3000 - kept


def test_label_noise_is_deterministic_and_nested_across_levels():
    labels = torch.arange(500) % 10
    a = corrupt.corrupt_labels(labels, 0.2, _g(7))
    b = corrupt.corrupt_labels(labels, 0.2, _g(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    high_new, high_chosen = corrupt.corrupt_labels(labels, 0.6, _g(7))
    assert not (a[1] & ~high_chosen).any()
    assert torch.equal(a[0][a[1]], high_new[a[1]])


def test_noise_level_outside_unit_interval_is_refused():
    with pytest.raises(GenlabError, match=r"^label_noise 1.5 is outside \[0, 1\]$"):
        corrupt.corrupt_labels(torch.zeros(4, dtype=torch.int64), 1.5, _g())


# ---------------------------------------------------------------- inputs


def test_shuffled_pixels_share_one_permutation_for_every_image_and_the_test_set():
    images, labels = _split(20)
    test_images, _ = _split(15, seed=1)
    perm = corrupt.pixel_permutation(_g(3))
    assert perm.dtype == torch.int64 and torch.equal(perm.sort().values, torch.arange(784))
    out = corrupt.permute_pixels(images, perm)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    assert torch.equal(out.flatten(1), images.flatten(1)[:, perm])
    as_float = corrupt.permute_pixels(to_float(images), perm)
    assert as_float.shape == (20, 1, 28, 28) and torch.equal(as_float, to_float(out))

    record = corrupt.corrupt_subset(images, labels, 0.0, "shuffled_pixels", seed=5)
    perm = record["pixel_permutation"]
    x_train = corrupt.train_inputs(images, record)
    x_test = corrupt.test_inputs(test_images, record)
    assert torch.equal(x_train.flatten(1), to_float(images).flatten(1)[:, perm])
    assert torch.equal(x_test.flatten(1), to_float(test_images).flatten(1)[:, perm])
    assert not torch.equal(x_train, to_float(images))


def test_random_pixels_permute_each_image_on_its_own():
    images, labels = _split(30)
    perms = corrupt.random_pixel_permutations(30, _g(4))
    assert perms.shape == (30, 784) and perms.dtype == torch.int64
    assert torch.equal(perms.sort(dim=1).values, torch.arange(784).expand(30, 784))
    assert len({tuple(row.tolist()) for row in perms}) == 30
    out = corrupt.apply_per_image_permutations(images, perms)
    for i in (0, 17):
        assert torch.equal(out[i].flatten(), images[i].flatten()[perms[i]])
    assert torch.equal(out.flatten(1).sort(dim=1).values, images.flatten(1).sort(dim=1).values)  # same pixels
    as_float = corrupt.apply_per_image_permutations(to_float(images), perms)
    assert torch.equal(as_float, to_float(out))

    test_images, _ = _split(10, seed=1)
    record = corrupt.corrupt_subset(images, labels, 0.0, "random_pixels", seed=5)
    stored = record["pixel_permutations"]
    assert stored.shape == (30, 784) and torch.equal(stored.long().sort(dim=1).values, torch.arange(784).expand(30, 784))
    x_train = corrupt.train_inputs(images, record)
    assert torch.equal(x_train, to_float(corrupt.apply_per_image_permutations(images, stored)))
    assert torch.equal(corrupt.test_inputs(test_images, record), to_float(test_images))  # test images stay clean


def test_gaussian_inputs_match_the_subsets_pixel_mean_and_std():
    images, labels = _split(300)
    pixels = images.double() / 255
    record = corrupt.corrupt_subset(images, labels, 0.0, "gaussian", seed=2)
    assert record["gaussian_mean"] == pytest.approx(pixels.mean().item(), rel=1e-12)
    assert record["gaussian_std"] == pytest.approx(pixels.std(correction=0).item(), rel=1e-12)
    x = corrupt.train_inputs(images, record)
    assert x.dtype == torch.float32 and x.shape == (300, 1, 28, 28)
    assert abs(x.double().mean().item() - record["gaussian_mean"]) < 0.005
    assert abs(x.double().std().item() - record["gaussian_std"]) < 0.005
    test_images, _ = _split(10, seed=1)
    assert torch.equal(corrupt.test_inputs(test_images, record), to_float(test_images))
    direct = corrupt.gaussian_images(1000, 0.25, 0.5, _g(9))
    assert direct.shape == (1000, 1, 28, 28) and direct.dtype == torch.float32
    assert abs(direct.mean().item() - 0.25) < 0.005 and abs(direct.std().item() - 0.5) < 0.005


def test_subset_record_is_consistent_deterministic_and_loads_with_weights_only(tmp_path):
    images, labels = _split(200)
    record = corrupt.corrupt_subset(images, labels, 0.4, "none", seed=3)
    assert int(record["chosen"].sum()) == 80
    assert torch.equal(record["true_labels"], labels)
    assert torch.equal(record["corrupted"], record["labels"] != labels)
    assert torch.equal(corrupt.train_inputs(images, record), to_float(images))
    again = corrupt.corrupt_subset(images, labels, 0.4, "gaussian", seed=3)
    assert torch.equal(again["labels"], record["labels"])  # labels do not depend on the input corruption
    torch.save(again, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    assert torch.equal(loaded["gaussian_images"], again["gaussian_images"])
    other = corrupt.corrupt_subset(images, labels, 0.4, "none", seed=4)
    assert not torch.equal(other["chosen"], record["chosen"])
    with pytest.raises(GenlabError, match="input_corruption 'blur' is not one of"):
        corrupt.corrupt_subset(images, labels, 0.4, "blur", seed=3)
    with pytest.raises(GenlabError, match="^subset record holds 200 examples, 10 training images given$"):
        corrupt.train_inputs(images[:10], record)


def test_clean_and_corrupted_accuracy_agree_with_a_direct_count():
    g = _g(5)
    labels = torch.randint(0, 10, (400,), generator=g)
    pred = torch.where(torch.rand(400, generator=g) < 0.7, labels, torch.randint(0, 10, (400,), generator=g))
    corrupted = torch.rand(400, generator=g) < 0.3
    got = corrupt.clean_corrupted_accuracy(pred, labels, corrupted)
    clean_right = sum(1 for i in range(400) if not corrupted[i] and pred[i] == labels[i])
    corrupt_right = sum(1 for i in range(400) if corrupted[i] and pred[i] == labels[i])
    assert got == {
        "clean_train_accuracy": clean_right / int((~corrupted).sum()),
        "corrupted_train_accuracy": corrupt_right / int(corrupted.sum()),
    }
    none = corrupt.clean_corrupted_accuracy(pred, labels, torch.zeros(400, dtype=torch.bool))
    assert none["corrupted_train_accuracy"] is None and none["clean_train_accuracy"] == int((pred == labels).sum()) / 400


# ---------------------------------------------------------------- runs and config

SECTION = {
    "n_train": 5000, "lr": 1.0e-4, "batch_size": 128, "epochs": 500,
    "label_noise": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], "input_corruptions": ["shuffled_pixels", "random_pixels", "gaussian"],
    "fit_threshold": 1.0, "eval_train_size": None, "eval_test_size": None, "eval_epochs": "all",
}


def _config(**section) -> dict:
    config = {"data_seed": 3, "precision": "fp32", "seeds": [0, 1], "corruption": copy.deepcopy(SECTION)}
    config["corruption"].update(section)
    return config


def test_run_names_round_trip_and_fit_snakemake_wildcards():
    section = _config(label_noise=[0, 0.2, 1.0, 0.125, 1e-05])["corruption"]
    names = exp.run_names(section)
    assert names == ["noise0p0", "noise0p2", "noise1p0", "noise0p125", "noise0p00001", "shuffledpixels", "randompixels", "gaussian"]
    assert all(re.fullmatch(exp.RUN_NAME, name) for name in names)
    assert [exp.run_spec(section, n)["label_noise"] for n in names[:5]] == [0.0, 0.2, 1.0, 0.125, 1e-05]
    assert {exp.run_spec(section, n)["corruption"] for n in names[:5]} == {"labels"}
    assert exp.run_spec(section, "randompixels") == {"corruption": "random_pixels", "label_noise": 0.0}
    assert exp.all_runs(_config()) [:3] == [("noise0p0", 0), ("noise0p0", 1), ("noise0p2", 0)]
    with pytest.raises(GenlabError) as err:
        exp.run_spec(section, "noise0p3")
    assert str(err.value) == (
        "corruption: no run named 'noise0p3' in the config (runs: noise0p0, noise0p2, noise1p0, noise0p125, noise0p00001, "
        "shuffledpixels, randompixels, gaussian)"
    )


def test_input_corruption_names_agree_with_genlab_corrupt():
    assert ("none", *exp.INPUT_CORRUPTIONS) == corrupt.INPUTS


@pytest.mark.parametrize(
    "section, message",
    [
        ({"label_noise": [0.2, 1.5]}, "config key corruption.label_noise.1: 1.5 must be <= 1"),
        ({"label_noise": [-0.1]}, "config key corruption.label_noise.0: -0.1 must be >= 0"),
        ({"label_noise": [0.2, 0.4, 0.2]}, "config key corruption.label_noise: [0.2, 0.4, 0.2] has non-unique elements"),
        ({"input_corruptions": ["blur"]},
         "config key corruption.input_corruptions.0: 'blur' is not one of ['shuffled_pixels', 'random_pixels', 'gaussian']"),
        ({"input_corruptions": ["gaussian", "gaussian"]}, "config key corruption.input_corruptions: ['gaussian', 'gaussian'] has non-unique elements"),
        ({"fit_threshold": 0.0}, "config key corruption.fit_threshold: 0.0 must be > 0"),
        ({"fit_threshold": 1.01}, "config key corruption.fit_threshold: 1.01 must be <= 1"),
        ({"eval_train_size": 6000}, "config key corruption.eval_train_size: 6000 exceeds n_train 5000"),
        ({"batch_size": 6000}, "config key corruption.batch_size: batch size 6000 exceeds corruption.n_train (5000)"),
        (
            {"n_train": 20, "batch_size": 4, "label_noise": [0.0, 0.5, 0.02]},
            "config key corruption.label_noise: 0.02 of n_train 20 images chooses no example (round(0.02 * 20) = 0), so nothing is corrupted",
        ),
    ],
)
def test_check_names_the_key(section, message):
    """Single keys by the schema, cross-key rules by the module: both through genlab.validate."""
    with pytest.raises(GenlabError) as err:
        validate(_config(**section), against_data=False)
    assert str(err.value) == message


def test_both_lists_empty_is_named():
    with pytest.raises(GenlabError, match=r"^config key corruption: label_noise and input_corruptions are both empty, no run to train$"):
        exp.check(_config(label_noise=[], input_corruptions=[]))


def test_check_accepts_the_reference_section_and_the_edge_of_rounding():
    exp.check(_config())
    exp.check(_config(n_train=20, batch_size=4, label_noise=[0.05], input_corruptions=[]))  # round(1.0) = 1 example
    exp.check(_config(label_noise=[], fit_threshold=0.95))
    for n in (3, 7, 20, 5000):
        for p in (0.01, 0.025, 0.1, 0.125, 0.5, 0.7):
            ok = corrupt.n_chosen(n, p) > 0
            try:
                exp.check(_config(n_train=n, batch_size=1, label_noise=[p]))
                assert ok
            except GenlabError:
                assert not ok


def test_train_config_and_subset_params():
    config = _config(eval_test_size=1000)
    cfg = exp.train_config(config, "noise0p4", "2")
    assert isinstance(cfg, TrainConfig)
    assert (cfg.experiment, cfg.run, cfg.seed, cfg.arch, cfg.width, cfg.permuted_labels) == ("corruption", "noise0p4", 2, "deep_cnn", None, False)
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.n_train, cfg.data_seed) == (1e-4, 128, 500, 5000, 3)
    assert (cfg.label_noise, cfg.input_corruption, cfg.fit_threshold) == (0.4, "none", 1.0)
    assert (cfg.eval_train_size, cfg.eval_test_size, cfg.eval_epochs, cfg.precision) == (None, 1000, "all", "fp32")
    assert exp.train_config(_config(eval_epochs="log"), "gaussian", 0).eval_epochs == "log"
    assert exp.subset_name("noise0p4") == "corruption_noise0p4" and re.fullmatch(r"[A-Za-z0-9_]+", exp.subset_name("gaussian"))
    shuffled = exp.train_config(config, "shuffledpixels", 0)
    assert (shuffled.label_noise, shuffled.input_corruption) == (0.0, "shuffled_pixels")
    assert exp.subset_params(config, "gaussian") == {"n_train": 5000, "seed": 3, "label_noise": 0.0, "input_corruption": "gaussian"}
    assert exp.subset_params(config, "noise1p0") == {"n_train": 5000, "seed": 3, "label_noise": 1.0, "input_corruption": "none"}
    with pytest.raises(GenlabError, match="no run named 'width8'"):
        exp.train_config(config, "width8", 0)


# ---------------------------------------------------------------- summary and figures


def _history(path, seed: int, accuracies: list[float], steps_per_epoch: int = 40, p: float = 0.0) -> str:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIT_HISTORY_COLUMNS)
        writer.writeheader()
        for i, acc in enumerate(accuracies):
            writer.writerow({
                "epoch": i + 1, "step": (i + 1) * steps_per_epoch, "train_loss": 2.3 * (1 - acc) + 0.1 / (i + 1),
                "train_accuracy": acc, "test_loss": 1.0 + 0.1 * i + seed / 100, "test_accuracy": 0.9 - 0.7 * p + seed / 1000,
                "clean_train_accuracy": min(1.0, acc + 0.05) if p < 1 else "",
                "corrupted_train_accuracy": acc * 0.8 if p > 0 else "",
                "seed": seed, "data_seed": 0,
            })
    return str(path)


def _hand_made(tmp_path, seeds=(0, 1)):
    """Histories of every kind of run; input runs come first to exercise the sort."""
    specs = [("gaussian", 0.0), ("shuffled_pixels", 0.0), ("labels", 1.0), ("labels", 0.0), ("labels", 0.5), ("random_pixels", 0.0)]
    histories, run_specs = [], []
    for corruption, p in specs:
        for seed in seeds:
            never = corruption in ("gaussian", "random_pixels") or (p == 1.0 and seed == 1)
            accs = [0.3, 0.6, 0.9, 0.95] if never else [0.3, 0.7, 1.0][: 2 + (p > 0) + seed % 2] + [1.0]
            path = tmp_path / f"{corruption}_{p}_{seed}.csv"
            histories.append(_history(path, seed, accs, p=p))
            run_specs.append({"corruption": corruption, "label_noise": p})
    return histories, run_specs


def test_summary_times_fits_and_sorts(tmp_path):
    h0 = _history(tmp_path / "a.csv", 0, [0.5, 0.99, 1.0, 1.0])
    h1 = _history(tmp_path / "b.csv", 0, [0.5, 0.9])
    h2 = _history(tmp_path / "c.csv", 1, [0.5, 0.99, 1.0], steps_per_epoch=7)
    specs = [{"corruption": "gaussian", "label_noise": 0.0}, {"corruption": "labels", "label_noise": 0.2},
             {"corruption": "labels", "label_noise": 0.2}]
    frame = summaries.summary([h0, h1, h2], specs, 1.0)
    assert list(frame.columns) == exp.SUMMARY_COLUMNS == [
        "corruption", "label_noise", "seed", "epochs_to_fit", "steps_to_fit", "train_loss", "train_accuracy", "test_loss",
        "test_accuracy", "n_test_eval",
    ]
    assert frame["corruption"].tolist() == ["labels", "labels", "gaussian"]
    assert frame["seed"].tolist() == [0, 1, 0]
    assert frame["epochs_to_fit"].tolist()[1:] == [3, 3] and frame["epochs_to_fit"].isna().tolist() == [True, False, False]
    assert frame["steps_to_fit"].tolist()[1:] == [21, 120]
    assert frame["train_accuracy"].tolist() == [0.9, 1.0, 1.0]  # the last epoch trained
    assert summaries.summary([h1], specs[1:2], 0.9)["epochs_to_fit"].tolist() == [2]

    out = tmp_path / "results" / "summary.csv"
    summaries.write_summary([h0, h1, h2], specs, 1.0, out)
    first = out.read_bytes()
    lines = first.decode().splitlines()
    assert lines[0] == ",".join(exp.SUMMARY_COLUMNS)
    assert lines[1].startswith("labels,0.2,0,,,")  # never fitted: empty cells
    assert lines[3].startswith("gaussian,0.0,0,3,120,")
    with open(h0) as f:
        last_loss = list(csv.DictReader(f))[-1]["train_loss"]
    assert lines[3].split(",")[5] == last_loss  # floats exactly as the history holds them
    summaries.write_summary([h2, h0, h1], [specs[2], specs[0], specs[1]], 1.0, out)
    assert out.read_bytes() == first  # input order and reruns change nothing


def test_summary_refuses_bad_inputs(tmp_path):
    h = _history(tmp_path / "a.csv", 0, [1.0])
    spec = {"corruption": "labels", "label_noise": 0.2}
    with pytest.raises(GenlabError, match="a second history of labels p=0.2 seed 0"):
        summaries.summary([h, h], [spec, spec], 1.0)
    with pytest.raises(GenlabError, match="1 histories but 2 run specs"):
        summaries.summary([h], [spec, spec], 1.0)
    with pytest.raises(GenlabError, match="missing.csv: table missing"):
        summaries.summary([str(tmp_path / "missing.csv")], [spec], 1.0)
    (tmp_path / "old.csv").write_text("epoch,train_loss\n1,0.5\n")
    with pytest.raises(GenlabError, match="old.csv: column step, train_accuracy, test_loss, test_accuracy, clean_train_accuracy, corrupted_train_accuracy, seed, data_seed missing"):
        summaries.summary([str(tmp_path / "old.csv")], [spec], 1.0)
    with pytest.raises(GenlabError, match="run corruption 'blur' is not one of labels"):
        summaries.summary([h], [{"corruption": "blur", "label_noise": 0.0}], 1.0)


@pytest.fixture
def drawn(monkeypatch):
    """Every text of each figure saved (single-axis ones through genlab.plots, the panels directly)."""
    seen = []
    for module in (plots, figures):
        save = module.save_figure
        monkeypatch.setattr(module, "save_figure", lambda fig, path, save=save: (seen.append(texts_of(fig)), save(fig, path)))
    return seen


@pytest.mark.parametrize("seeds", [(0,), (0, 1)])
def test_every_figure_is_drawn_from_hand_made_csvs(tmp_path, seeds, drawn):
    histories, run_specs = _hand_made(tmp_path, seeds)
    summary_csv = tmp_path / "summary.csv"
    summaries.write_summary(histories, run_specs, 1.0, summary_csv)
    assert summary_csv.read_text().count(",,") >= 2  # some runs never fitted
    pngs = {name: tmp_path / "image" / f"{name}.png" for name in exp.FIGURES}
    settings = "tiny preset \u00b7 100 training images \u00b7 at most 2 epochs \u00b7 seed 0"
    figures.plot(histories, run_specs, summary_csv, pngs, settings)
    for png in pngs.values():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(drawn) == len(pngs)
    for texts in drawn:
        assert any(text.endswith("\n" + settings) for text in texts), "the settings line under each title"


def test_figures_with_only_some_kinds_of_run(tmp_path):
    only_inputs = [_history(tmp_path / "g.csv", 0, [0.2, 0.4])]
    specs = [{"corruption": "gaussian", "label_noise": 0.0}]
    summary_csv = tmp_path / "summary.csv"
    summaries.write_summary(only_inputs, specs, 1.0, summary_csv)
    figures.plot_memorization(only_inputs, specs, tmp_path / "m.png")  # no p > 0: a note instead of panels
    figures.plot_time_to_fit(summary_csv, tmp_path / "t.png")  # nothing fitted
    figures.plot_test_error(summary_csv, tmp_path / "e.png")
    figures.plot_learning_curves(only_inputs, specs, tmp_path / "l.png")
    assert all((tmp_path / f"{n}.png").stat().st_size > 0 for n in "mtel")


def test_figure_names_and_history_columns():
    assert exp.FIGURES == {
        "learning_curves": "image/Corruption_learning_curves.png",
        "time_to_fit": "image/Corruption_time_to_fit.png",
        "test_error": "image/Corruption_test_error.png",
        "memorization": "image/Corruption_memorization.png",
    }
    assert FIT_HISTORY_COLUMNS == [
        "epoch", "step", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
        "train_loss_se", "test_loss_se", "n_train_eval", "n_test_eval",
        "clean_train_accuracy", "corrupted_train_accuracy", "seed", "data_seed",
    ]
    assert (exp.NAME, exp.ARCH, exp.INPUT_CORRUPTIONS) == ("corruption", "deep_cnn", ("shuffled_pixels", "random_pixels", "gaussian"))
