"""The claims table: every claim's verdict (held, not_held, inconclusive) on hand-made tables.

One seed: intervals from the sampling error of the evaluated examples (the tables carry the
standard errors and counts the workflow records); several seeds: a bootstrap over seeds; rank
claims over few points: the exact permutation interval of Kendall's tau.
"""

import math

import numpy as np
import pandas as pd
import pytest

from genlab import claims, stats
from genlab.claims import collect_claims, summary_lines, write_claims
from genlab.errors import GenlabError
from genlab.experiments import corruption, interpolation, params_vs_gen, random_labels, sensitivity
from genlab.ranks import kendall_tau, spearman_rho

HELD, NOT_HELD, INCONCLUSIVE = stats.HELD, stats.NOT_HELD, stats.INCONCLUSIVE


@pytest.fixture(autouse=True)
def fewer_draws(monkeypatch):
    monkeypatch.setattr(stats, "CLAIM_SAMPLES", 150)  # intervals of these tables are far from their thresholds


def verdicts(rows: list[dict]) -> dict[str, str]:
    return {r["claim"]: r["verdict"] for r in rows}


def evidence(rows: list[dict], claim: str) -> str:
    return next(r["evidence"] for r in rows if r["claim"] == claim)


def test_rank_correlations_match_hand_computed_values():
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert spearman_rho([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / math.sqrt(6))  # tau-b with a tie
    assert kendall_tau([1, 2, 3], [1, math.inf, math.inf]) == pytest.approx(2 / math.sqrt(6))  # inf ranks top, ties
    assert kendall_tau([3, 2, 1], [1, 2, 3]) == pytest.approx(-1)
    assert spearman_rho([1, 2, 3], [10, 20, 1000]) == pytest.approx(1)
    assert math.isnan(kendall_tau([1, 2, 3], [5, 5, 5])) and math.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


def test_held_column_is_true_only_for_held():
    rows = random_labels.judge(histories(train_acc=0.96, test_acc=0.13, n_eval=20, loss_se=6.0))  # nothing decided
    assert {r["verdict"] for r in rows} == {INCONCLUSIVE} and not any(r["held"] for r in rows)


# ------------------------------------------------------------------ random labels


def histories(train_acc=0.998, test_acc=0.11, test_losses=(2.3, 3.0, 6.0, 10.5), seeds=(0,), n_eval=5000, loss_se=0.02):
    rows = []
    n = len(test_losses)
    for seed in seeds:
        for i, loss in enumerate(test_losses):
            last = i == n - 1
            acc = train_acc[seed] if isinstance(train_acc, dict) else train_acc
            rows.append(dict(epoch=i + 1, train_loss=2.3 / (i + 1), train_accuracy=acc if last else 0.1 * (i + 1),
                             test_loss=loss, test_accuracy=test_acc if last else 0.1, seed=seed, data_seed=0,
                             train_loss_se=loss_se, test_loss_se=loss_se, n_train_eval=n_eval, n_test_eval=n_eval))
    return pd.DataFrame(rows)


def test_random_labels_all_held():
    rows = random_labels.judge(histories())
    assert [r["claim"] for r in rows] == ["memorised", "test_at_chance", "test_loss_rises"]
    assert verdicts(rows) == {"memorised": HELD, "test_at_chance": HELD, "test_loss_rises": HELD}
    memorised = rows[0]
    assert memorised["effect"] == pytest.approx(0.998) and memorised["ci_low"] > 0.995 and memorised["n_seeds"] == 1
    assert "(sampling error of the evaluated examples)" in memorised["evidence"]
    assert "10.5 = 4.57 x lowest 2.3 (epoch 1" in evidence(rows, "test_loss_rises")


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(train_acc=0.6), {"memorised": NOT_HELD}),
        (dict(test_acc=0.4), {"test_at_chance": NOT_HELD}),
        (dict(test_losses=(2.3, 2.1, 2.5, 2.6)), {"test_loss_rises": NOT_HELD}),  # 1.24 x the lowest
        (dict(train_acc=0.955, n_eval=300), {"memorised": INCONCLUSIVE, "test_at_chance": INCONCLUSIVE}),
        (dict(test_losses=(2.3, 3.0, 3.2, 3.45), loss_se=0.3), {"test_loss_rises": INCONCLUSIVE}),  # 1.5 x, noisy
    ],
)
def test_random_labels_verdicts(kwargs, expected):
    found = verdicts(random_labels.judge(histories(**kwargs)))
    assert {c: v for c, v in found.items() if v != HELD} == expected


def test_random_labels_over_seeds_and_without_sampling_columns():
    spread = histories(train_acc={0: 0.99, 1: 0.9, 2: 0.97}, seeds=(0, 1, 2))
    row = random_labels.judge(spread)[0]
    assert row["verdict"] == INCONCLUSIVE and row["n_seeds"] == 3 and "bootstrap over seeds" in row["evidence"]
    assert row["ci_low"] <= 0.92 and row["ci_high"] >= 0.97
    bare = histories().drop(columns=["n_train_eval", "n_test_eval", "train_loss_se", "test_loss_se"])
    assert set(verdicts(random_labels.judge(bare)).values()) == {INCONCLUSIVE}  # one seed and no error: no interval


def test_random_labels_mean_over_seeds_uses_epochs_every_seed_reached():
    df = histories(seeds=(0, 1))
    extra = df[df.seed == 0].iloc[[-1]].assign(epoch=5, train_accuracy=0.2)  # seed 0 ran one more epoch
    rows = random_labels.judge(pd.concat([df, extra]))
    assert rows[0]["effect"] == pytest.approx(0.998) and "epoch 4" in evidence(rows, "memorised")


# ------------------------------------------------------------------ width sweep

WIDTHS = (2, 4, 6, 8, 12, 16, 20)


def width_metrics(accuracies, widths=WIDTHS, seeds=(0,), n_test=10000) -> pd.DataFrame:
    rows = []
    for w, acc in zip(widths, accuracies):
        for seed in seeds:
            rows.append(dict(experiment="params_vs_gen", run=f"width{w}", seed=seed, data_seed=0, arch="width_cnn",
                             width=w, n_train=1000, lr=1e-3, batch_size=128, epochs=20, precision="fp32",
                             n_params=676 * w * w + 21 * w + 10, train_loss=0.1, train_accuracy=0.99,
                             test_loss=0.4, test_accuracy=acc, n_test_eval=n_test))
    return pd.DataFrame(rows)


def test_params_vs_gen_rises_and_flattens():
    rows = params_vs_gen.judge(width_metrics([0.30, 0.70, 0.82, 0.86, 0.87, 0.88, 0.88]))
    assert verdicts(rows) == {"test_accuracy_rises": HELD, "test_accuracy_flattens": HELD}
    assert "gain 0.580" in evidence(rows, "test_accuracy_rises") and "permutation interval" in evidence(rows, "test_accuracy_rises")


def test_params_vs_gen_late_rise_and_linear_rise():
    late = params_vs_gen.judge(width_metrics([0.32, 0.38, 0.36, 0.66, 0.79, 0.84, 0.88]))  # the quick preset's shape
    assert verdicts(late) == {"test_accuracy_rises": HELD, "test_accuracy_flattens": HELD}
    params = np.array([676 * w * w + 21 * w + 10 for w in WIDTHS], dtype=float)
    x = np.log10(params)
    linear = params_vs_gen.judge(width_metrics(0.3 + 0.5 * (x - x[0]) / (x[-1] - x[0])))  # the same slope everywhere
    assert verdicts(linear) == {"test_accuracy_rises": HELD, "test_accuracy_flattens": NOT_HELD}


@pytest.mark.parametrize(
    "accuracies, n_test, expected",
    [
        ([0.80, 0.78, 0.81, 0.79, 0.80, 0.80, 0.79], 10000, NOT_HELD),  # no trend, no gain
        ([0.80, 0.801, 0.802, 0.803, 0.804, 0.805, 0.806], 10000, NOT_HELD),  # monotone, a gain of 0.006
        ([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], 10000, NOT_HELD),  # falling
        ([0.78, 0.79, 0.80, 0.81, 0.82, 0.83, 0.84], 100, INCONCLUSIVE),  # a gain of 0.06 on 100 test images
    ],
)
def test_params_vs_gen_rises_verdicts(accuracies, n_test, expected):
    assert verdicts(params_vs_gen.judge(width_metrics(accuracies, n_test=n_test)))["test_accuracy_rises"] == expected


def test_params_vs_gen_flattening_on_few_test_images_is_inconclusive():
    rows = params_vs_gen.judge(width_metrics([0.30, 0.45, 0.58, 0.68, 0.76, 0.82, 0.86], n_test=100))
    assert verdicts(rows)["test_accuracy_flattens"] == INCONCLUSIVE


def test_params_vs_gen_too_few_sizes_is_inconclusive_not_dropped():
    rows = params_vs_gen.judge(width_metrics([0.3, 0.8], widths=(2, 20)))
    assert verdicts(rows) == {"test_accuracy_rises": INCONCLUSIVE, "test_accuracy_flattens": INCONCLUSIVE}
    assert "cannot be tested" in evidence(rows, "test_accuracy_flattens")


# ------------------------------------------------------------------ interpolation

HELD_LOSSES = {-1.0: 8.0, -0.5: 3.0, 0.0: 0.02, 0.5: 1.0, 1.0: 0.01, 1.5: 0.5, 2.0: 2.0}


def curve(losses=None, seeds=(0,), endpoint_accuracy=0.99, loss_se=0.002, n_eval=1000) -> pd.DataFrame:
    losses = {**HELD_LOSSES, **(losses or {})}
    rows = []
    for seed in seeds:
        for alpha, loss in losses.items():
            acc = endpoint_accuracy if alpha in (0.0, 1.0) else 0.5
            rows.append(dict(alpha=alpha, train_loss=loss, train_accuracy=acc, test_loss=loss, test_accuracy=acc,
                             train_loss_se=loss_se, test_loss_se=loss_se, n_train_eval=n_eval, n_test_eval=n_eval,
                             seed_a=seed, seed_b=seed))
    return pd.DataFrame(rows)


def interp_metrics(acc_a=0.99, acc_b=0.995, n_eval=2000) -> pd.DataFrame:
    return pd.DataFrame([
        dict(experiment="interpolation", run="A", seed=0, batch_size=1024, train_accuracy=acc_a, n_train_eval=n_eval),
        dict(experiment="interpolation", run="B", seed=0, batch_size=64, train_accuracy=acc_b, n_train_eval=n_eval),
    ])


def test_interpolation_all_held():
    rows = interpolation.judge(curve(), interp_metrics())
    assert [r["claim"] for r in rows] == ["endpoints_are_minima", "barrier", "rises_outside", "finding_steeper_side"]
    assert set(verdicts(rows).values()) == {HELD}
    assert "A (large-batch) side steeper" in evidence(rows, "finding_steeper_side")
    assert "whole training set" in evidence(rows, "endpoints_are_minima")
    assert "= 50 x the higher endpoint's" in evidence(rows, "barrier")


@pytest.mark.parametrize(
    "losses, loss_se, metrics, expected",
    [
        (None, 1e-4, interp_metrics(acc_a=0.90), {"endpoints_are_minima": NOT_HELD}),  # A not fitted
        ({0.5: 0.03}, 1e-4, interp_metrics(), {"barrier": NOT_HELD}),  # ratio 1.5
        ({0.0: 1e-4, 1.0: 1e-4, 0.5: 1e-2}, 1e-6, interp_metrics(), {"barrier": NOT_HELD}),  # ratio 100 but 0.01 nats
        ({2.0: 0.015, 1.5: 0.012}, 1e-4, interp_metrics(), {"rises_outside": NOT_HELD, "finding_steeper_side": HELD}),
        (None, 1e-4, interp_metrics(acc_a=0.982, n_eval=200), {"endpoints_are_minima": INCONCLUSIVE}),  # 0.98 +- 0.01
        ({-1.0: 0.04, 2.0: 0.021}, 0.003, interp_metrics(), {"rises_outside": INCONCLUSIVE}),  # 2.0 and 2.1 x, noisy
        ({0.5: 0.2}, 0.05, interp_metrics(), {"barrier": INCONCLUSIVE}),  # 10 x, but its excess 0.18 +- 0.1
    ],
)
def test_interpolation_verdicts(losses, loss_se, metrics, expected):
    found = verdicts(interpolation.judge(curve(losses, loss_se=loss_se), metrics))
    assert {c: found[c] for c in expected} == expected


def test_interpolation_small_batch_side_steeper_is_reported():
    rows = interpolation.judge(curve({-1.0: 2.0, 2.0: 8.0}), interp_metrics())
    assert verdicts(rows)["finding_steeper_side"] == NOT_HELD and verdicts(rows)["rises_outside"] == HELD
    assert "B (small-batch) side steeper" in evidence(rows, "finding_steeper_side")


def test_interpolation_steeper_side_compares_equal_distances():
    # A's side reaches -1, B's only 1.5: compare at distance 0.5 (alpha -0.5 and 1.5), not at -1.
    losses = {-1.0: 100.0, -0.5: 0.3, 0.0: 0.02, 0.5: 1.0, 1.0: 0.01, 1.5: 2.0}
    rows = interpolation.judge(curve(losses).query("alpha != 2.0"))
    assert verdicts(rows)["finding_steeper_side"] == NOT_HELD and "distance 0.5" in evidence(rows, "finding_steeper_side")
    assert "curve's training subset" in evidence(rows, "endpoints_are_minima")


def test_interpolation_without_points_outside_is_inconclusive_not_dropped():
    rows = interpolation.judge(curve({}).query("alpha >= 0 and alpha <= 1"))
    assert verdicts(rows) == {"endpoints_are_minima": HELD, "barrier": HELD, "rises_outside": INCONCLUSIVE,
                              "finding_steeper_side": INCONCLUSIVE}


def test_interpolation_needs_both_endpoints_and_runs():
    with pytest.raises(GenlabError, match="curves.csv: no row at alpha 1"):
        interpolation.judge(curve().query("alpha != 1.0"), source="curves.csv")
    with pytest.raises(GenlabError, match="m.csv: no run B"):
        interpolation.judge(curve(), interp_metrics().query("run == 'A'"), metrics_source="m.csv")


# ------------------------------------------------------------------ sensitivity

BATCHES = [32, 64, 128, 256, 512, 1024]


def sens_summary(sensitivities, gaps, output="logits", seeds=(0,), batches=BATCHES) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for b, s, gap in zip(batches, sensitivities, gaps):
            rows.append(dict(experiment="sensitivity", run=f"batch{b}", seed=seed, data_seed=0, batch_size=b, lr=1e-2,
                             n_points=100, output=output, sensitivity=s, train_loss=0.1, train_accuracy=0.99,
                             test_loss=0.2, test_accuracy=0.99 - gap))
    return pd.DataFrame(rows)


def test_sensitivity_findings_held():
    rows = sensitivity.judge(sens_summary([6, 5, 4, 3.5, 3, 2], [0.06, 0.05, 0.04, 0.03, 0.02, 0.01]))
    assert verdicts(rows) == {"finding_sensitivity_vs_batch_size": HELD, "finding_sensitivity_tracks_gap": HELD}
    assert "Kendall tau -1.000 (expected falling), permutation interval [-1.000, -0.267]" in evidence(
        rows, "finding_sensitivity_vs_batch_size")
    assert "logits" in evidence(rows, "finding_sensitivity_vs_batch_size")


def test_sensitivity_findings_not_held_and_inconclusive():
    rising = sensitivity.judge(sens_summary([1, 2, 3, 4, 5, 6], [0.06, 0.05, 0.04, 0.03, 0.02, 0.01], output="softmax"))
    assert verdicts(rising) == {"finding_sensitivity_vs_batch_size": NOT_HELD, "finding_sensitivity_tracks_gap": NOT_HELD}
    assert "softmax output" in evidence(rising, "finding_sensitivity_tracks_gap")
    three = sensitivity.judge(sens_summary([3, 2, 1], [0.03, 0.02, 0.01], batches=[32, 256, 1024]))
    assert set(verdicts(three).values()) == {INCONCLUSIVE}  # a perfect ranking of three points: one ordering in six
    noisy = sensitivity.judge(sens_summary([0.19, 0.2, 0.21, 0.22, 0.3, 0.26], [0.06, 0.05, 0.04, 0.03, 0.01, 0.02]))
    assert verdicts(noisy)["finding_sensitivity_vs_batch_size"] == NOT_HELD


def test_sensitivity_mixed_outputs_fail():
    df = pd.concat([sens_summary([1] * 6, [0] * 6, "logits"), sens_summary([1] * 6, [0] * 6, "softmax")])
    with pytest.raises(GenlabError, match="s.csv: mixes sensitivity outputs logits, softmax"):
        sensitivity.judge(df, source="s.csv")


# ------------------------------------------------------------------ corruption

NOISE = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def corr_summary(steps, test_accuracies, seeds=(0,), levels=NOISE, n_test=10000) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for p, s, acc in zip(levels, steps, test_accuracies):
            rows.append(dict(corruption="labels", label_noise=p, seed=seed, epochs_to_fit=None if s is None else s // 10,
                             steps_to_fit=s, train_loss=0.01, train_accuracy=1.0, test_loss=1.0, test_accuracy=acc,
                             n_test_eval=n_test))
    rows.append(dict(corruption="gaussian", label_noise=0.0, seed=0, epochs_to_fit=None, steps_to_fit=None,
                     train_loss=2.0, train_accuracy=0.1, test_loss=9.0, test_accuracy=0.99, n_test_eval=n_test))
    return pd.DataFrame(rows)


RISING_STEPS, FALLING_ACC = [100, 200, 300, 400, 800, None], [0.98, 0.8, 0.6, 0.4, 0.2, 0.1]


def test_corruption_summary_claims_held():
    rows = corruption.judge(corr_summary(RISING_STEPS, FALLING_ACC, seeds=(0, 1)))
    assert verdicts(rows) == {"time_to_fit_rises": HELD, "test_error_rises": HELD}
    assert "p=1: inf" in evidence(rows, "time_to_fit_rises")
    assert "at p=1 0.900, 0.000 from chance 0.900" in evidence(rows, "test_error_rises")


@pytest.mark.parametrize(
    "steps, accuracies, levels, n_test, expected",
    [
        ([800, 400, 300, 300, 200, 100], FALLING_ACC, NOISE, 10000, {"time_to_fit_rises": NOT_HELD}),  # falling
        (RISING_STEPS, [0.98, 0.9, 0.8, 0.7, 0.6, 0.5], NOISE, 10000, {"test_error_rises": NOT_HELD}),  # 0.5 at p=1
        ([100, 200, None], [0.98, 0.5, 0.1], [0.0, 0.5, 1.0], 10000,  # three levels: no rise beyond chance
         {"time_to_fit_rises": INCONCLUSIVE, "test_error_rises": INCONCLUSIVE}),
        (RISING_STEPS, [0.98, 0.8, 0.6, 0.4, 0.2, 0.16], NOISE, 100, {"test_error_rises": INCONCLUSIVE}),  # 0.84 +- 0.07
    ],
)
def test_corruption_summary_verdicts(steps, accuracies, levels, n_test, expected):
    found = verdicts(corruption.judge(corr_summary(steps, accuracies, levels=levels, n_test=n_test)))
    assert {c: v for c, v in found.items() if v != HELD} == expected


def test_corruption_without_label_runs_emits_nothing():
    assert corruption.judge(corr_summary([1] * 6, [0.5] * 6).query("corruption != 'labels'")) == []


def corr_history(runs: dict, n_eval=1000) -> pd.DataFrame:
    """runs: (p, seed) -> list of (clean, corrupted) accuracies per epoch."""
    rows = []
    for (p, seed), epochs in runs.items():
        for i, (clean, corrupted) in enumerate(epochs):
            rows.append(dict(epoch=i + 1, train_loss=1.0, train_accuracy=0.5, test_loss=1.0, test_accuracy=0.5,
                             seed=seed, data_seed=0, label_noise=p, clean_train_accuracy=clean,
                             corrupted_train_accuracy=corrupted, n_train_eval=n_eval))
    return pd.DataFrame(rows)


def test_clean_before_corrupted_held():
    h = corr_history({
        (0.0, 0): [(0.5, None), (0.95, None)],  # p = 0 and 1 do not count
        (0.5, 0): [(0.5, 0.1), (0.92, 0.3), (0.97, 0.95)],
        (0.5, 1): [(0.91, 0.1), (0.99, 0.5), (1.0, 0.6)],  # corrupted never reaches 0.9
        (1.0, 0): [(None, 0.95)],
    })
    rows = corruption.judge(histories=h)
    assert verdicts(rows) == {"clean_before_corrupted": HELD}
    assert "in 2 of 2 runs with 0 < p < 1" in evidence(rows, "clean_before_corrupted")


@pytest.mark.parametrize(
    "epochs, n_eval, expected",
    [
        ([(0.5, 0.5), (0.95, 0.95)], 1000, NOT_HELD),  # same epoch: not earlier
        ([(0.5, 0.95), (0.95, 0.99)], 1000, NOT_HELD),  # corrupted first
        ([(0.5, 0.5), (0.6, 0.6)], 1000, NOT_HELD),  # neither ever
        ([(0.5, 0.3), (0.91, 0.88), (0.95, 0.95)], 200, INCONCLUSIVE),  # one epoch apart, 0.91 vs 0.88 on few examples
    ],
)
def test_clean_before_corrupted_verdicts(epochs, n_eval, expected):
    h = corr_history({(0.2, 0): [(0.5, 0.1), (0.95, 0.2), (0.99, 0.95)], (0.8, 0): epochs}, n_eval=n_eval)
    rows = corruption.judge(histories=h)
    assert verdicts(rows) == {"clean_before_corrupted": expected}
    if expected == NOT_HELD:
        assert "1 of 2 runs" in evidence(rows, "clean_before_corrupted") and "p=0.8 seed 0" in evidence(rows, "clean_before_corrupted")


def test_clean_before_corrupted_without_label_noise_column_tells_runs_apart_by_file(tmp_path):
    paths = []
    for name, epochs in (("noise0p2", [(0.5, 0.1), (0.95, 0.2), (0.99, 0.95)]), ("noise0p8", [(0.5, 0.95), (0.95, 0.99)])):
        path = tmp_path / name / "seed0.csv"
        path.parent.mkdir()
        corr_history({(0.5, 0): epochs}).drop(columns=["label_noise"]).to_csv(path, index=False)
        paths.append(str(path))
    df = collect_claims({"corruption": {"histories": paths}})
    assert df.claim.tolist() == ["clean_before_corrupted"] and df.verdict[0] == NOT_HELD and not df.held[0]
    assert "1 of 2 runs" in df.evidence[0] and f"not in {paths[1]} seed 0 (clean epoch 2, corrupted 1)" in df.evidence[0]
    both = pd.concat([pd.read_csv(p) for p in paths])  # same seed, nothing to tell the runs apart
    with pytest.raises(GenlabError, match="h.csv: an epoch appears twice for one run"):
        corruption.judge(histories=both, histories_source="h.csv")


def test_clean_before_corrupted_untestable_without_mixed_runs():
    (row,) = corruption.judge(histories=corr_history({(0.0, 0): [(0.95, None)], (1.0, 0): [(None, 0.95)]}))
    assert (row["claim"], row["verdict"], row["held"]) == ("clean_before_corrupted", INCONCLUSIVE, False)
    assert row["evidence"] == "cannot be tested: no label run with 0 < p < 1" and math.isnan(row["effect"])


# ------------------------------------------------------------------ sharpness measures


def measures_tables(sens_values: dict, a_value=5.0, b_value=1.0, seeds=(0,)):
    rows, metrics = [], []
    for seed in seeds:
        for b, i in zip(BATCHES, range(len(BATCHES))):
            metrics.append(dict(experiment="sensitivity", run=f"batch{b}", seed=seed, batch_size=b))
            for measure, values in sens_values.items():
                rows.append(dict(experiment="sensitivity", run=f"batch{b}", seed=seed, measure=measure, value=values[i],
                                 n_points=100, std_error=0.0, steps=10, converged=True))
        for run, batch, value in (("A", 1024, a_value), ("B", 64, b_value)):
            metrics.append(dict(experiment="interpolation", run=run, seed=seed, batch_size=batch))
            for measure in sens_values:
                rows.append(dict(experiment="interpolation", run=run, seed=seed, measure=measure,
                                 value=value + 0.1 * seed, n_points=100, std_error=0.0, steps=10, converged=True))
    rows.append(dict(experiment="sensitivity", run="batch32", seed=0, measure="sensitivity_softmax", value=99.0,
                     n_points=100, std_error=0.0, steps=10, converged=True))  # not a sharpness measure: ignored
    return pd.DataFrame(rows), pd.DataFrame(metrics)


RISING = [1, 2, 3, 4, 5, 6]


@pytest.fixture
def measures_claims(tmp_path):
    """The large_batch_sharper claims of both experiments, from the two tables written as the workflow does."""
    def judge(measures, metrics, metrics_source="measure_metrics.csv"):
        measures_csv, metrics_csv = tmp_path / "all.csv", tmp_path / metrics_source
        measures.to_csv(measures_csv, index=False)
        metrics.to_csv(metrics_csv, index=False)
        inputs = {"measures": [str(measures_csv)], "measure_metrics": [str(metrics_csv)]}
        return interpolation.claims(inputs) + sensitivity.claims(inputs)
    return judge


def test_large_batch_sharper_held(measures_claims):
    tables = measures_tables({"keskar_eps1e-3": RISING, "keskar_eps5e-4": RISING, "hessian_eig1": RISING}, seeds=(0, 1, 2))
    rows = measures_claims(*tables)
    assert [(r["experiment"], r["claim"], r["verdict"]) for r in rows] == [
        ("interpolation", "large_batch_sharper", HELD), ("sensitivity", "large_batch_sharper", HELD),
    ]
    sens = rows[1]["evidence"]
    assert "hessian_eig1 +1.000 [+0.267, +1.000], keskar_eps1e-3 +1.000" in sens and "sensitivity_softmax" not in sens
    assert "batch-1024 solution vs the batch-64" in rows[0]["evidence"]


def test_large_batch_sharper_not_held_and_inconclusive(measures_claims):
    measures, metrics = measures_tables({"keskar_eps1e-3": RISING, "hessian_eig1": [6, 5, 4, 3, 2, 1]}, a_value=1.0, b_value=5.0)
    measures.loc[0, "converged"] = False
    rows = measures_claims(measures, metrics)
    assert [r["verdict"] for r in rows] == [INCONCLUSIVE, NOT_HELD]  # one seed: A vs B has no interval
    assert "hessian_eig1 -1.000" in rows[1]["evidence"] and "1 estimate(s) not converged" in rows[1]["evidence"]


def test_large_batch_sharper_over_seeds_not_held_and_a_weak_ranking_inconclusive(measures_claims):
    rows = measures_claims(*measures_tables({"keskar_eps1e-3": [6, 5, 4, 3, 2, 1]}, a_value=1.0, b_value=5.0, seeds=(0, 1, 2)))
    assert [r["verdict"] for r in rows] == [NOT_HELD, NOT_HELD] and rows[0]["ci_high"] < 0
    weak = measures_claims(*measures_tables({"keskar_eps1e-3": [1, 3, 2, 4, 6, 5]}))  # tau 0.73 over six sizes
    assert weak[1]["verdict"] == INCONCLUSIVE and weak[1]["ci_low"] == 0.0


def test_large_batch_sharper_needs_every_batch_size(measures_claims):
    measures, metrics = measures_tables({"hessian_eig1": RISING})
    with pytest.raises(GenlabError, match="mm.csv: no batch size for sensitivity/batch32 seed 0"):
        measures_claims(measures, metrics.iloc[1:], metrics_source="mm.csv")


# ------------------------------------------------------------------ the table


def write_inputs(tmp_path) -> dict[str, list[str]]:
    def save(name, df):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
        return str(path)

    rl = histories(seeds=(0, 1))
    measures, measure_metrics = measures_tables({"keskar_eps1e-3": RISING, "hessian_eig1": RISING}, seeds=(0, 1))
    measured = {
        "measures": [save("all.csv", measures)],
        "measure_metrics": [save("m_sens.csv", measure_metrics[measure_metrics.experiment == "sensitivity"]),
                            save("m_interp.csv", measure_metrics[measure_metrics.experiment == "interpolation"])],
    }
    return {
        "random_labels": {"histories": [save(f"rl/seed{s}.csv", rl[rl.seed == s]) for s in (0, 1)]},
        "params_vs_gen": {"metrics": [save("params_vs_gen.csv", width_metrics([0.3, 0.7, 0.82, 0.86, 0.87, 0.88, 0.88]))]},
        "interpolation": {"curves": [save("interp/seed0.csv", curve())], "metrics": [save("interpolation.csv", interp_metrics())],
                          **measured},
        "sensitivity": {"summary": [save("summary.csv", sens_summary([6, 5, 4, 3.5, 3, 2], [0.06, 0.05, 0.04, 0.03, 0.02, 0.01]))],
                        **measured},
        "corruption": {
            "summary": [save("corruption.csv", corr_summary(RISING_STEPS, FALLING_ACC))],
            # As the workflow writes them: one file per run, no label_noise column.
            "histories": [
                save(f"ch/{name}/seed0.csv", corr_history({(p, 0): epochs}).drop(columns=["label_noise"]))
                for name, p, epochs in (("noise0p0", 0.0, [(0.5, None), (0.95, None)]),
                                        ("noise0p5", 0.5, [(0.5, 0.1), (0.97, 0.3), (0.99, 0.95)]),
                                        ("noise1p0", 1.0, [(None, 0.95)]))
            ],
        },
    }


def test_write_claims_is_byte_identical_and_complete(tmp_path):
    paths = write_inputs(tmp_path)
    first, second = tmp_path / "out" / "claims.csv", tmp_path / "claims2.csv"
    df = write_claims(paths, first, "0123456789abcdef")
    write_claims(paths, second, "0123456789abcdef")
    data = first.read_bytes()
    assert data == second.read_bytes() and b"\r" not in data
    write_claims(paths, first, "0123456789abcdef")
    assert first.read_bytes() == data
    assert data.decode().splitlines()[0] == (
        "experiment,claim,kind,held,verdict,effect,ci_low,ci_high,n_seeds,evidence,config_digest")
    back = pd.read_csv(first)
    assert list(back.columns) == claims.COLUMNS
    assert back["held"].dtype == bool and back["held"].all() and set(back["verdict"]) == {HELD}
    assert (back["ci_low"] <= back["effect"]).all() and (back["effect"] <= back["ci_high"]).all()
    assert set(back["n_seeds"]) == {1, 2}
    assert list(zip(back.experiment, back.claim)) == [
        ("random_labels", "memorised"), ("random_labels", "test_at_chance"), ("random_labels", "test_loss_rises"),
        ("params_vs_gen", "test_accuracy_rises"), ("params_vs_gen", "test_accuracy_flattens"),
        ("interpolation", "endpoints_are_minima"), ("interpolation", "barrier"), ("interpolation", "rises_outside"),
        ("interpolation", "finding_steeper_side"), ("interpolation", "large_batch_sharper"),
        ("sensitivity", "finding_sensitivity_vs_batch_size"), ("sensitivity", "finding_sensitivity_tracks_gap"),
        ("sensitivity", "large_batch_sharper"),
        ("corruption", "time_to_fit_rises"), ("corruption", "test_error_rises"), ("corruption", "clean_before_corrupted"),
    ]
    assert df.equals(collect_claims(paths, "0123456789abcdef"))
    assert set(back["config_digest"]) == {"0123456789abcdef"}
    assert list(back.loc[back["kind"] == "finding", "claim"]) == [
        "finding_steeper_side", "finding_sensitivity_vs_batch_size", "finding_sensitivity_tracks_gap"]
    assert (back.loc[back["kind"] != "finding", "kind"] == "claim").all()
    lines = summary_lines(back)
    assert lines[0] == ("13 claims: 13 held, 0 not held, 0 inconclusive; "
                        "3 findings (held: agrees with the literature): 3 held, 0 not held, 0 inconclusive")
    assert len(lines) == 17 and lines[1].startswith("✓ random_labels/memorised: ")


def test_experiments_not_run_are_not_emitted(tmp_path):
    paths = write_inputs(tmp_path)
    paths["random_labels"]["histories"] = []
    del paths["corruption"]["histories"], paths["sensitivity"]["measure_metrics"], paths["interpolation"]["curves"]
    del paths["interpolation"]["measure_metrics"]
    df = collect_claims(paths)
    assert set(df.experiment) == {"params_vs_gen", "sensitivity", "corruption"}
    assert "clean_before_corrupted" not in set(df.claim) and "large_batch_sharper" not in set(df.claim)
    assert list(collect_claims({}).columns) == claims.COLUMNS


def test_failed_claims_are_kept_and_summarised(tmp_path):
    paths = write_inputs(tmp_path)
    path = tmp_path / "rl_bad.csv"
    histories(train_acc=0.5).to_csv(path, index=False)
    paths["random_labels"]["histories"] = [str(path)]
    df = collect_claims(paths)
    assert len(df) == 16 and df.held.sum() == 15 and df.verdict.tolist().count(NOT_HELD) == 1
    lines = summary_lines(df)
    assert lines[0].startswith("13 claims: 12 held, 1 not held, 0 inconclusive; ")
    assert lines[1].startswith("✗ random_labels/memorised: final (epoch 4) train accuracy on random labels 0.500 (need >= 0.950)")


def one_line_error(paths) -> str:
    with pytest.raises(GenlabError) as info:
        collect_claims(paths)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file_column_or_rows_names_the_file(tmp_path):
    paths = write_inputs(tmp_path)
    missing = str(tmp_path / "nope.csv")
    assert one_line_error({"sensitivity": {"summary": [missing]}}) == f"{missing}: no such file"

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert one_line_error({"interpolation": {"curves": [str(empty)]}}) == f"{empty}: empty file"

    header_only = tmp_path / "header.csv"
    header_only.write_text("alpha,train_loss,train_accuracy\n")
    assert one_line_error({"interpolation": {"curves": [str(header_only)]}}) == f"{header_only}: no rows"

    no_column = tmp_path / "params.csv"
    width_metrics([0.3] * 7).drop(columns=["n_params"]).to_csv(no_column, index=False)
    assert one_line_error({"params_vs_gen": {"metrics": [str(no_column)]}}) == f"{no_column}: missing column(s) n_params"

    # The second of two history files lacks test_loss: that file is named, not the first.
    bad = tmp_path / "rl_bad.csv"
    histories().drop(columns=["test_loss"]).to_csv(bad, index=False)
    message = one_line_error({"random_labels": {"histories": [paths["random_labels"]["histories"][0], str(bad)]}})
    assert message == f"{bad}: missing column(s) test_loss"

    text = tmp_path / "text.csv"
    histories().assign(test_loss="oops").to_csv(text, index=False)
    assert one_line_error({"random_labels": {"histories": [str(text)]}}).startswith(f"{text}: column test_loss has a non-numeric")

    assert one_line_error({"measure": {"x": ["x"]}}).startswith("claims inputs: unknown experiment(s) measure")


def test_claims_rule_inputs_round_trip():
    flat = {"interpolation__curves": ["a.csv"], "interpolation__measure_metrics": ["m.csv", "n.csv"], "toy__metrics": ["t.csv"]}
    assert claims.nested_inputs(flat) == {"interpolation": {"curves": ["a.csv"], "measure_metrics": ["m.csv", "n.csv"]},
                                          "toy": {"metrics": ["t.csv"]}}
