"""The zoo's ranking (Jiang et al.'s protocol on its tables), its findings and figures, on a synthetic zoo."""

import itertools

import numpy as np
import pandas as pd
import pytest

from genlab.experiments import zoo, zoo_ranking
from genlab.stats import HELD, INCONCLUSIVE, NOT_HELD


def synthetic_zoo(tmp_path, missed: int = 2):
    """16 runs over width x depth x dropout x optimizer; the gap grows with depth and dropout. Measures:
    keskar follows the gap, norms_spectral_product falls with it, norms_param follows width only,
    hessian_trace_conv1 (per layer) is left out of the ranking."""
    rng = np.random.default_rng(0)
    runs, rows = [], []
    for i, (w, d, p, opt) in enumerate(itertools.product([4, 8], [1, 2], [0.0, 0.25], ["adam", "sgd"])):
        gap = 0.02 * d + 0.1 * p + 0.001 * i
        run = f"r{i}"
        runs.append({"run": run, "seed": 0, "width": w, "depth": d, "batch_size": 32, "lr": 1e-3, "weight_decay": 0.0,
                     "dropout": p, "optimizer": opt, "gap": gap, "reached_target": i >= missed,
                     "steps_to_loss_0.1": 100 - i})
        for measure, value in (("keskar_0.001", 10 * gap), ("norms_spectral_product", 1 / gap), ("norms_param", w),
                               ("hessian_trace_conv1", rng.random())):
            rows.append({"experiment": "zoo", "run": run, "seed": 0, "measure": measure, "value": value})
        rows.append({"experiment": "other", "run": run, "seed": 0, "measure": "keskar_0.001", "value": -1.0})
    pd.DataFrame(runs).to_csv(tmp_path / "runs.csv", index=False)
    pd.DataFrame(rows).to_csv(tmp_path / "all.csv", index=False)
    return tmp_path / "runs.csv", tmp_path / "all.csv"


def test_ranking_orders_families_and_leaves_out_missed_runs_and_layers(tmp_path):
    runs, table = synthetic_zoo(tmp_path)
    ranked = zoo_ranking.ranking(runs, table, samples=50).set_index("measure")
    # Sorted by Psi, then tau. The steps to train loss 0.1 (from the runs table) fall with the run's index,
    # so within every group they order the gap backwards (Psi -1), over all runs not quite (tau > -1).
    assert list(ranked.index) == ["keskar_0.001", "norms_param", "optimisation_steps_to_loss_0.1", "norms_spectral_product"]
    steps = ranked.loc["optimisation_steps_to_loss_0.1"]
    assert steps["family"] == "optimisation" and steps["psi"] == pytest.approx(-1.0) and -1.0 < steps["tau"] < 0
    assert ranked.loc["keskar_0.001", "psi"] == pytest.approx(1.0) and ranked.loc["keskar_0.001", "tau"] == pytest.approx(1.0)
    assert ranked.loc["norms_spectral_product", "tau"] == pytest.approx(-1.0)
    # norms_param follows width alone: within groups differing only in width it orders the gap (which
    # grows with the run's index, width outermost), within every other group it is constant.
    assert ranked.loc["norms_param", "psi_width"] == 1.0
    assert ranked.loc["norms_param", ["psi_depth", "psi_dropout", "psi_optimizer"]].tolist() == [0.0, 0.0, 0.0]
    assert set(ranked["n_runs"]) == {14} and set(ranked["n_unreached"]) == {2}
    assert ranked.loc["keskar_0.001", "family"] == "sharpness and PAC-Bayes"
    assert ranked.loc["norms_param", "family"] == "norm and margin"
    assert not ranked.loc["norms_param", "invariant"] and ranked.loc["norms_spectral_product", "invariant"]
    assert {"psi_depth", "psi_dropout", "psi_optimizer", "cmi"} <= set(ranked.columns)
    assert "psi_batch_size" not in ranked.columns  # a hyperparameter the grid does not vary


def test_findings_held_not_held_and_inconclusive():
    def table(flat_psi, flat_ci, norm_psi, norm_ci, tau, tau_ci):
        return pd.DataFrame([
            {"measure": "keskar_0.001", "family": "sharpness and PAC-Bayes", "tau": 0.5, "tau_ci_low": 0.3, "tau_ci_high": 0.7,
             "psi": flat_psi, "psi_ci_low": flat_ci[0], "psi_ci_high": flat_ci[1], "n_runs": 64},
            {"measure": "norms_spectral_product", "family": "norm and margin", "tau": tau, "tau_ci_low": tau_ci[0],
             "tau_ci_high": tau_ci[1], "psi": norm_psi, "psi_ci_low": norm_ci[0], "psi_ci_high": norm_ci[1], "n_runs": 64},
        ])

    def verdicts(frame):
        return [row["verdict"] for row in zoo_ranking.findings(frame, 1)]

    assert verdicts(table(0.6, (0.5, 0.7), 0.1, (0.0, 0.2), -0.4, (-0.6, -0.2))) == [HELD, HELD]
    assert verdicts(table(0.1, (0.0, 0.2), 0.6, (0.5, 0.7), 0.4, (0.2, 0.6))) == [NOT_HELD, NOT_HELD]
    assert verdicts(table(0.4, (0.2, 0.6), 0.3, (0.1, 0.5), -0.1, (-0.3, 0.1))) == [INCONCLUSIVE, INCONCLUSIVE]
    only_flat = table(0.6, (0.5, 0.7), 0.1, (0.0, 0.2), -0.4, (-0.6, -0.2)).iloc[:1]
    rows = zoo_ranking.findings(only_flat, 1)
    assert [r["verdict"] for r in rows] == [INCONCLUSIVE, INCONCLUSIVE]
    assert all("cannot be tested" in r["evidence"] for r in rows)


def test_claims_and_figures_from_the_written_ranking(tmp_path):
    runs, table = synthetic_zoo(tmp_path)
    out = tmp_path / "ranking.csv"
    zoo_ranking.write_ranking(runs, table, out)
    found = zoo.claims({"ranking": [str(out)], "runs": [str(runs)]})
    assert [(r["claim"], r["verdict"]) for r in found] == [
        ("finding_flatness_beats_norms", HELD), ("finding_spectral_product_negative", HELD)]
    assert b"\r" not in out.read_bytes()
    zoo_ranking.plot_ranking(out, tmp_path / "ranking.png", "tiny preset · seed 0")
    zoo_ranking.plot_vs_gap(out, runs, table, tmp_path / "vs_gap.png", "tiny preset · seed 0")
    assert (tmp_path / "ranking.png").stat().st_size > 10_000 and (tmp_path / "vs_gap.png").stat().st_size > 10_000
