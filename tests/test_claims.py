"""The claims table: every claim's verdict on a hand-made case where it holds and one where it does not."""

import math

import numpy as np
import pandas as pd
import pytest

from genlab import claims
from genlab.claims import collect_claims, summary_lines, write_claims
from genlab.errors import GenlabError
from genlab.experiments import corruption, interpolation, params_vs_gen, random_labels, sensitivity
from genlab.ranks import kendall_tau, spearman_rho

random_labels_claims = random_labels.judge
params_vs_gen_claims = params_vs_gen.judge
interpolation_claims = interpolation.judge
sensitivity_claims = sensitivity.judge
corruption_claims = corruption.judge


def verdicts(rows: list[dict]) -> dict[str, bool]:
    return {r["claim"]: r["held"] for r in rows}


def evidence(rows: list[dict], claim: str) -> str:
    return next(r["evidence"] for r in rows if r["claim"] == claim)


# ------------------------------------------------------------------ rank correlations


def test_rank_correlations_match_hand_computed_values():
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert spearman_rho([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / math.sqrt(6))  # tau-b with a tie
    assert kendall_tau([1, 2, 3], [1, math.inf, math.inf]) == pytest.approx(2 / math.sqrt(6))  # inf ranks top, ties
    assert kendall_tau([3, 2, 1], [1, 2, 3]) == pytest.approx(-1)
    assert spearman_rho([1, 2, 3], [10, 20, 1000]) == pytest.approx(1)
    assert math.isnan(kendall_tau([1, 2, 3], [5, 5, 5])) and math.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


# ------------------------------------------------------------------ random labels


def histories(train_acc=0.998, test_acc=0.11, test_losses=(2.3, 3.0, 6.0, 10.5), seeds=(0, 1)) -> pd.DataFrame:
    rows = []
    n = len(test_losses)
    for seed in seeds:
        for i, loss in enumerate(test_losses):
            last = i == n - 1
            rows.append(dict(epoch=i + 1, train_loss=2.3 / (i + 1), train_accuracy=train_acc if last else 0.1 * (i + 1),
                             test_loss=loss, test_accuracy=test_acc if last else 0.1, seed=seed, data_seed=0))
    return pd.DataFrame(rows)


def test_random_labels_all_hold():
    rows = random_labels_claims(histories())
    assert [r["claim"] for r in rows] == ["memorised", "test_at_chance", "test_loss_rises"]
    assert verdicts(rows) == {"memorised": True, "test_at_chance": True, "test_loss_rises": True}
    assert evidence(rows, "memorised") == (
        "final (epoch 4) train accuracy on random labels 0.998 >= 0.950 (mean over 2 seeds)"
    )
    assert "10.5 >= 1.5 x lowest 2.3 (epoch 1)" in evidence(rows, "test_loss_rises")
    assert "0.110 within 0.100 +/- 0.050" in evidence(rows, "test_at_chance")


@pytest.mark.parametrize(
    "kwargs, claim",
    [
        (dict(train_acc=0.6), "memorised"),
        (dict(test_acc=0.4), "test_at_chance"),
        (dict(test_acc=0.02), "test_at_chance"),
        (dict(test_losses=(2.3, 2.1, 2.5, 2.6)), "test_loss_rises"),
    ],
)
def test_random_labels_not_held(kwargs, claim):
    rows = random_labels_claims(histories(**kwargs))
    assert {c for c, held in verdicts(rows).items() if not held} == {claim}


def test_random_labels_mean_over_seeds_uses_epochs_every_seed_reached():
    df = histories(seeds=(0, 1))
    extra = df[df.seed == 0].iloc[[-1]].assign(epoch=5, train_accuracy=0.2)  # seed 0 ran one more epoch
    rows = random_labels_claims(pd.concat([df, extra]))
    assert verdicts(rows)["memorised"] and "epoch 4" in evidence(rows, "memorised")


# ------------------------------------------------------------------ width sweep


def width_metrics(accuracies, widths=(2, 4, 6, 8, 12, 16, 20), seeds=(0,)) -> pd.DataFrame:
    rows = []
    for w, acc in zip(widths, accuracies):
        for seed in seeds:
            rows.append(dict(experiment="params_vs_gen", run=f"width{w}", seed=seed, data_seed=0, arch="width_cnn",
                             width=w, n_train=1000, lr=1e-3, batch_size=128, epochs=20, precision="fp32",
                             n_params=676 * w * w + 21 * w + 10, train_loss=0.1, train_accuracy=0.99,
                             test_loss=0.4, test_accuracy=acc))
    return pd.DataFrame(rows)


def test_params_vs_gen_rises_and_flattens():
    rows = params_vs_gen_claims(width_metrics([0.30, 0.70, 0.82, 0.86, 0.87, 0.88, 0.88], seeds=(0, 1)))
    assert verdicts(rows) == {"test_accuracy_rises": True, "test_accuracy_flattens": True}
    assert "Spearman rho +" in evidence(rows, "test_accuracy_rises")
    assert "need >= 0.800" in evidence(rows, "test_accuracy_rises")
    assert "last slope <= 0.5 x the steepest" in evidence(rows, "test_accuracy_flattens")


def test_params_vs_gen_flattens_after_a_late_rise():
    # The quick preset's shape: flat, a steep rise in the middle widths, then bending over.
    rows = params_vs_gen_claims(width_metrics([0.32, 0.38, 0.36, 0.66, 0.79, 0.84, 0.88]))
    assert verdicts(rows) == {"test_accuracy_rises": True, "test_accuracy_flattens": True}


def test_params_vs_gen_rising_without_flattening():
    # Linear in log10(params): the same slope everywhere, the last equals the steepest.
    params = np.array([676 * w * w + 21 * w + 10 for w in (2, 4, 6, 8, 12, 16, 20)], dtype=float)
    x = np.log10(params)
    acc = 0.3 + 0.5 * (x - x[0]) / (x[-1] - x[0])
    rows = params_vs_gen_claims(width_metrics(acc))
    assert verdicts(rows) == {"test_accuracy_rises": True, "test_accuracy_flattens": False}
    assert "need a rising curve" in evidence(rows, "test_accuracy_flattens")


@pytest.mark.parametrize(
    "accuracies",
    [
        [0.80, 0.78, 0.81, 0.79, 0.80, 0.80, 0.79],  # no trend
        [0.80, 0.801, 0.802, 0.803, 0.804, 0.805, 0.806],  # monotone but a gain of 0.006
        [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],  # falling
    ],
)
def test_params_vs_gen_not_rising(accuracies):
    rows = params_vs_gen_claims(width_metrics(accuracies))
    assert verdicts(rows)["test_accuracy_rises"] is False


def test_params_vs_gen_too_few_sizes_is_reported_not_dropped():
    rows = params_vs_gen_claims(width_metrics([0.3, 0.8], widths=(2, 20)))
    assert verdicts(rows) == {"test_accuracy_rises": False, "test_accuracy_flattens": False}
    assert "cannot be tested" in evidence(rows, "test_accuracy_flattens")


# ------------------------------------------------------------------ interpolation

HELD_LOSSES = {-1.0: 8.0, -0.5: 3.0, 0.0: 0.02, 0.5: 1.0, 1.0: 0.01, 1.5: 0.5, 2.0: 2.0}


def curve(losses=None, seeds=(0,), endpoint_accuracy=0.99) -> pd.DataFrame:
    losses = {**HELD_LOSSES, **(losses or {})}
    rows = []
    for seed in seeds:
        for alpha, loss in losses.items():
            acc = endpoint_accuracy if alpha in (0.0, 1.0) else 0.5
            rows.append(dict(alpha=alpha, train_loss=loss, train_accuracy=acc, test_loss=loss, test_accuracy=acc,
                             seed_a=seed, seed_b=seed))
    return pd.DataFrame(rows)


def interp_metrics(acc_a=0.99, acc_b=0.995) -> pd.DataFrame:
    return pd.DataFrame([
        dict(experiment="interpolation", run="A", seed=0, batch_size=1024, train_accuracy=acc_a),
        dict(experiment="interpolation", run="B", seed=0, batch_size=64, train_accuracy=acc_b),
    ])


def test_interpolation_all_hold():
    rows = interpolation_claims(curve(seeds=(0, 1)), interp_metrics())
    assert [r["claim"] for r in rows] == ["endpoints_are_minima", "barrier", "rises_outside", "finding_steeper_side"]
    assert all(verdicts(rows).values())
    assert "A (large-batch) side steeper" in evidence(rows, "finding_steeper_side")
    assert "whole training set" in evidence(rows, "endpoints_are_minima")
    assert "ratio 50 (need >= 2)" in evidence(rows, "barrier")


@pytest.mark.parametrize(
    "losses, metrics, claim",
    [
        (None, interp_metrics(acc_a=0.90), "endpoints_are_minima"),  # A not fitted
        ({0.5: 0.03}, interp_metrics(), "barrier"),  # ratio 1.5
        ({0.0: 1e-4, 1.0: 1e-4, 0.5: 1e-2}, interp_metrics(), "barrier"),  # ratio 100 but 0.01 nats
        ({2.0: 0.015, 1.5: 0.012}, interp_metrics(), "rises_outside"),  # 1.5 x B's loss
    ],
)
def test_interpolation_not_held(losses, metrics, claim):
    rows = interpolation_claims(curve(losses), metrics)
    assert {c for c, held in verdicts(rows).items() if not held} == {claim}


def test_interpolation_small_batch_side_steeper_is_reported():
    rows = interpolation_claims(curve({-1.0: 2.0, 2.0: 8.0}), interp_metrics())
    assert verdicts(rows)["finding_steeper_side"] is False
    assert "B (small-batch) side steeper" in evidence(rows, "finding_steeper_side")
    assert verdicts(rows)["rises_outside"] is True


def test_interpolation_steeper_side_compares_equal_distances():
    # A's side reaches -1, B's only 1.5: compare at distance 0.5 (alpha -0.5 and 1.5), not at -1.
    losses = {-1.0: 100.0, -0.5: 0.3, 0.0: 0.02, 0.5: 1.0, 1.0: 0.01, 1.5: 2.0}
    rows = interpolation_claims(pd.DataFrame([dict(alpha=a, train_loss=l, train_accuracy=0.99) for a, l in losses.items()]))
    assert verdicts(rows)["finding_steeper_side"] is False and "distance 0.5" in evidence(rows, "finding_steeper_side")
    assert "curve's training subset" in evidence(rows, "endpoints_are_minima")


def test_interpolation_without_points_outside_is_reported_not_dropped():
    losses = {0.0: 0.02, 0.5: 1.0, 1.0: 0.01}
    rows = interpolation_claims(pd.DataFrame([dict(alpha=a, train_loss=l, train_accuracy=0.99) for a, l in losses.items()]))
    assert verdicts(rows) == {"endpoints_are_minima": True, "barrier": True, "rises_outside": False, "finding_steeper_side": False}


def test_interpolation_needs_both_endpoints_and_runs():
    with pytest.raises(GenlabError, match="curves.csv: no row at alpha 1"):
        interpolation_claims(curve().query("alpha != 1.0"), source="curves.csv")
    with pytest.raises(GenlabError, match="m.csv: no run B"):
        interpolation_claims(curve(), interp_metrics().query("run == 'A'"), metrics_source="m.csv")


# ------------------------------------------------------------------ sensitivity

BATCHES = [32, 64, 128, 256, 512, 1024]


def sens_summary(sensitivities, gaps, output="logits", seeds=(0,)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for b, s, gap in zip(BATCHES, sensitivities, gaps):
            rows.append(dict(experiment="sensitivity", run=f"batch{b}", seed=seed, data_seed=0, batch_size=b, lr=1e-2,
                             n_points=100, output=output, sensitivity=s, train_loss=0.1, train_accuracy=0.99,
                             test_loss=0.2, test_accuracy=0.99 - gap))
    return pd.DataFrame(rows)


def test_sensitivity_findings_hold():
    rows = sensitivity_claims(sens_summary([6, 5, 4, 3.5, 3, 2], [0.06, 0.05, 0.04, 0.03, 0.02, 0.01]))
    assert verdicts(rows) == {"finding_sensitivity_vs_batch_size": True, "finding_sensitivity_tracks_gap": True}
    assert "Kendall tau -1.000 (need < 0.000), Spearman rho -1.000" in evidence(rows, "finding_sensitivity_vs_batch_size")
    assert "logits" in evidence(rows, "finding_sensitivity_vs_batch_size")
    assert "Kendall tau +1.000 (need > 0.000)" in evidence(rows, "finding_sensitivity_tracks_gap")


def test_sensitivity_findings_not_held():
    # Rising with batch size (the quick preset's softmax result), and the gap falling as sensitivity rises.
    rows = sensitivity_claims(sens_summary([0.19, 0.2, 0.21, 0.22, 0.3, 0.26], [0.06, 0.05, 0.04, 0.03, 0.01, 0.02],
                                           output="softmax"))
    assert verdicts(rows) == {"finding_sensitivity_vs_batch_size": False, "finding_sensitivity_tracks_gap": False}
    assert "softmax output" in evidence(rows, "finding_sensitivity_tracks_gap")


def test_sensitivity_mixed_outputs_fail():
    df = pd.concat([sens_summary([1] * 6, [0] * 6, "logits"), sens_summary([1] * 6, [0] * 6, "softmax")])
    with pytest.raises(GenlabError, match="s.csv: mixes sensitivity outputs logits, softmax"):
        sensitivity_claims(df, source="s.csv")


# ------------------------------------------------------------------ corruption

NOISE = [0.0, 0.2, 0.5, 0.8, 1.0]


def corr_summary(steps, test_accuracies, seeds=(0,)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for p, s, acc in zip(NOISE, steps, test_accuracies):
            rows.append(dict(corruption="labels", label_noise=p, seed=seed, epochs_to_fit=None if s is None else s // 10,
                             steps_to_fit=s, train_loss=0.01, train_accuracy=1.0, test_loss=1.0, test_accuracy=acc))
    rows.append(dict(corruption="gaussian", label_noise=0.0, seed=0, epochs_to_fit=None, steps_to_fit=None,
                     train_loss=2.0, train_accuracy=0.1, test_loss=9.0, test_accuracy=0.99))
    return pd.DataFrame(rows)


def test_corruption_summary_claims_hold():
    rows = corruption_claims(corr_summary([100, 200, 400, 800, None], [0.98, 0.8, 0.5, 0.2, 0.1], seeds=(0, 1)))
    assert verdicts(rows) == {"time_to_fit_rises": True, "test_error_rises": True}
    assert "p=1: inf" in evidence(rows, "time_to_fit_rises")
    assert "at p=1 0.900 within 0.900 +/- 0.050" in evidence(rows, "test_error_rises")


@pytest.mark.parametrize(
    "steps, accuracies, claim",
    [
        ([100, 400, 200, 800, 1600], [0.98, 0.8, 0.5, 0.2, 0.1], "time_to_fit_rises"),  # not non-decreasing
        ([100, None, None, None, None], [0.98, 0.8, 0.5, 0.2, 0.1], "time_to_fit_rises"),  # mostly ties: tau 0.63
        ([100, 200, 400, 800, 1600], [0.98, 0.9, 0.7, 0.6, 0.5], "test_error_rises"),  # error 0.5 at p=1
        ([100, 200, 400, 800, 1600], [0.1, 0.2, 0.5, 0.8, 0.1], "test_error_rises"),  # error falls with noise
    ],
)
def test_corruption_summary_not_held(steps, accuracies, claim):
    rows = corruption_claims(corr_summary(steps, accuracies))
    assert {c for c, held in verdicts(rows).items() if not held} == {claim}


def test_corruption_without_label_runs_emits_nothing():
    assert corruption_claims(corr_summary([1] * 5, [0.5] * 5).query("corruption != 'labels'")) == []


def corr_history(runs: dict) -> pd.DataFrame:
    """runs: (p, seed) -> list of (clean, corrupted) accuracies per epoch."""
    rows = []
    for (p, seed), epochs in runs.items():
        for i, (clean, corrupted) in enumerate(epochs):
            rows.append(dict(epoch=i + 1, train_loss=1.0, train_accuracy=0.5, test_loss=1.0, test_accuracy=0.5,
                             seed=seed, data_seed=0, label_noise=p, clean_train_accuracy=clean,
                             corrupted_train_accuracy=corrupted))
    return pd.DataFrame(rows)


def test_clean_before_corrupted_holds():
    h = corr_history({
        (0.0, 0): [(0.5, None), (0.95, None)],  # p = 0 and 1 do not count
        (0.5, 0): [(0.5, 0.1), (0.92, 0.3), (0.97, 0.95)],
        (0.5, 1): [(0.91, 0.1), (0.99, 0.5), (1.0, 0.6)],  # corrupted never reaches 0.9: inf
        (1.0, 0): [(None, 0.95)],
    })
    rows = corruption_claims(histories=h)
    assert verdicts(rows) == {"clean_before_corrupted": True}
    assert "in 2 of 2 runs with 0 < p < 1" in evidence(rows, "clean_before_corrupted")


@pytest.mark.parametrize(
    "epochs",
    [
        [(0.5, 0.5), (0.95, 0.95)],  # same epoch: not earlier
        [(0.5, 0.95), (0.95, 0.99)],  # corrupted first
        [(0.5, 0.5), (0.6, 0.6)],  # neither ever: inf vs inf
    ],
)
def test_clean_before_corrupted_not_held(epochs):
    h = corr_history({(0.2, 0): [(0.5, 0.1), (0.95, 0.2), (0.99, 0.95)], (0.8, 3): epochs})
    rows = corruption_claims(histories=h)
    assert verdicts(rows) == {"clean_before_corrupted": False}
    assert "1 of 2 runs" in evidence(rows, "clean_before_corrupted") and "p=0.8 seed 3" in evidence(rows, "clean_before_corrupted")


def test_clean_before_corrupted_without_label_noise_column_tells_runs_apart_by_file(tmp_path):
    paths = []
    for name, epochs in (("noise0p2", [(0.5, 0.1), (0.95, 0.2), (0.99, 0.95)]), ("noise0p8", [(0.5, 0.95), (0.95, 0.99)])):
        path = tmp_path / name / "seed0.csv"
        path.parent.mkdir()
        corr_history({(0.5, 0): epochs}).drop(columns=["label_noise"]).to_csv(path, index=False)
        paths.append(str(path))
    df = collect_claims({"corruption": {"histories": paths}})
    assert df.claim.tolist() == ["clean_before_corrupted"] and not df.held[0]
    assert "1 of 2 runs" in df.evidence[0] and f"not in {paths[1]} seed 0 (clean epoch 2, corrupted 1)" in df.evidence[0]
    both = pd.concat([pd.read_csv(p) for p in paths])  # same seed, nothing to tell the runs apart
    with pytest.raises(GenlabError, match="h.csv: an epoch appears twice for one run"):
        corruption_claims(histories=both, histories_source="h.csv")


def test_clean_before_corrupted_untestable_without_mixed_runs():
    rows = corruption_claims(histories=corr_history({(0.0, 0): [(0.95, None)], (1.0, 0): [(None, 0.95)]}))
    assert rows == [dict(experiment="corruption", claim="clean_before_corrupted", held=False,
                         evidence="cannot be tested: no label run with 0 < p < 1")]


# ------------------------------------------------------------------ sharpness measures


def measures_tables(sens_values: dict, a_value=5.0, b_value=1.0):
    rows, metrics = [], []
    for b, i in zip(BATCHES, range(len(BATCHES))):
        metrics.append(dict(experiment="sensitivity", run=f"batch{b}", seed=0, batch_size=b))
        for measure, values in sens_values.items():
            rows.append(dict(experiment="sensitivity", run=f"batch{b}", seed=0, measure=measure, value=values[i],
                             n_points=100, std_error=0.0, steps=10, converged=True))
    for run, batch, value in (("A", 1024, a_value), ("B", 64, b_value)):
        metrics.append(dict(experiment="interpolation", run=run, seed=0, batch_size=batch))
        for measure in sens_values:
            rows.append(dict(experiment="interpolation", run=run, seed=0, measure=measure, value=value,
                             n_points=100, std_error=0.0, steps=10, converged=True))
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


def test_large_batch_sharper_holds(measures_claims):
    rows = measures_claims(*measures_tables({"keskar_eps1e-3": RISING, "keskar_eps5e-4": RISING, "hessian_eig1": RISING}))
    assert [(r["experiment"], r["claim"], r["held"]) for r in rows] == [
        ("interpolation", "large_batch_sharper", True), ("sensitivity", "large_batch_sharper", True),
    ]
    sens = rows[1]["evidence"]
    assert "hessian_eig1 +1.000, keskar_eps1e-3 +1.000, keskar_eps5e-4 +1.000" in sens and "sensitivity_softmax" not in sens
    assert "batch-1024 solution vs the batch-64" in rows[0]["evidence"]


def test_large_batch_sharper_not_held(measures_claims):
    measures, metrics = measures_tables(
        {"keskar_eps1e-3": RISING, "hessian_eig1": [6, 5, 4, 3, 2, 1]}, a_value=1.0, b_value=5.0
    )
    measures.loc[0, "converged"] = False
    rows = measures_claims(measures, metrics)
    assert [r["held"] for r in rows] == [False, False]
    assert "hessian_eig1 -1.000" in rows[1]["evidence"] and "1 estimate(s) not converged" in rows[1]["evidence"]


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

    rl = histories()
    measures, measure_metrics = measures_tables({"keskar_eps1e-3": RISING, "hessian_eig1": RISING})
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
            "summary": [save("corruption.csv", corr_summary([100, 200, 400, 800, None], [0.98, 0.8, 0.5, 0.2, 0.1]))],
            # As the workflow writes them: one file per run, no label_noise column.
            "histories": [
                save(f"ch/{name}/seed0.csv", corr_history({(p, 0): epochs}).drop(columns=["label_noise"]))
                for name, p, epochs in (("noise0p0", 0.0, [(0.5, None), (0.95, None)]),
                                        ("noise0p5", 0.5, [(0.5, 0.1), (0.92, 0.3), (0.97, 0.95)]),
                                        ("noise1p0", 1.0, [(None, 0.95)]))
            ],
        },
    }


def test_write_claims_is_byte_identical_and_complete(tmp_path):
    paths = write_inputs(tmp_path)
    first, second = tmp_path / "out" / "claims.csv", tmp_path / "claims2.csv"
    df = write_claims(paths, first)
    write_claims(paths, second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    write_claims(paths, first)
    assert first.read_bytes() == data
    assert data.decode().splitlines()[0] == "experiment,claim,held,evidence"
    back = pd.read_csv(first)
    assert list(back.columns) == ["experiment", "claim", "held", "evidence"]
    assert back["held"].dtype == bool and back["held"].all()
    assert list(zip(back.experiment, back.claim)) == [
        ("random_labels", "memorised"), ("random_labels", "test_at_chance"), ("random_labels", "test_loss_rises"),
        ("params_vs_gen", "test_accuracy_rises"), ("params_vs_gen", "test_accuracy_flattens"),
        ("interpolation", "endpoints_are_minima"), ("interpolation", "barrier"), ("interpolation", "rises_outside"),
        ("interpolation", "finding_steeper_side"), ("interpolation", "large_batch_sharper"),
        ("sensitivity", "finding_sensitivity_vs_batch_size"), ("sensitivity", "finding_sensitivity_tracks_gap"),
        ("sensitivity", "large_batch_sharper"),
        ("corruption", "time_to_fit_rises"), ("corruption", "test_error_rises"), ("corruption", "clean_before_corrupted"),
    ]
    assert df.equals(collect_claims(paths))
    lines = summary_lines(back)
    assert lines[0] == "13 of 13 claims held; 3 of 3 findings agree with the literature" and len(lines) == 17 and lines[1].startswith("✓ random_labels/memorised: ")


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
    assert len(df) == 16 and df.held.sum() == 15
    lines = summary_lines(df)
    assert lines[0] == "12 of 13 claims held; 3 of 3 findings agree with the literature"
    assert lines[1].startswith("✗ random_labels/memorised: final (epoch 4) train accuracy on random labels 0.500 < 0.950")


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
