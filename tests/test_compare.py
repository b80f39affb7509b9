"""genlab compare on hand-made run folders: settings that differ, claims and metrics side by side."""

import pandas as pd
import pytest
import yaml

from genlab.cli import main
from genlab.compare import compare, differing_settings, flat
from genlab.errors import GenlabError


def make_run(folder, epochs, verdict, accuracies, digest):
    (folder / "results/metrics").mkdir(parents=True)
    config = {"seeds": [0], "random_labels": {"epochs": epochs, "lr": 1e-3}, "experiments": None}
    (folder / "results/config.yaml").write_text(f"# config digest: {digest} (also in results/claims.csv)\n" + yaml.safe_dump(config))
    pd.DataFrame([{"experiment": "random_labels", "claim": "memorised", "verdict": verdict, "effect": 0.9}]).to_csv(
        folder / "results/claims.csv", index=False)
    rows = [{"experiment": "random_labels", "run": "deep", "seed": seed, "train_accuracy": 1.0, "test_accuracy": acc,
             "test_loss": 3.0} for seed, acc in enumerate(accuracies)]
    pd.DataFrame(rows).to_csv(folder / "results/metrics/random_labels.csv", index=False)
    return folder


def test_flat_and_differing_settings():
    assert flat({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1, 2], "e": {}}
    diff = differing_settings({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "x": 1})
    assert diff.to_dict("records") == [{"setting": "a.c", "A": 2, "B": 3}, {"setting": "x", "A": "(absent)", "B": 1}]


def test_compare_prints_settings_claims_and_mean_metrics(tmp_path, capsys):
    a = make_run(tmp_path / "a", 30, "held", [0.1, 0.3], "aaaaaaaaaaaaaaaa")
    b = make_run(tmp_path / "b", 40, "inconclusive", [0.5], "bbbbbbbbbbbbbbbb")
    lines = compare(a, b)
    text = "\n".join(lines)
    assert "config digest aaaaaaaaaaaaaaaa" in lines[0] and "config digest bbbbbbbbbbbbbbbb" in lines[1]
    assert "settings that differ (1):" in text and "random_labels.epochs" in text
    claims = lines[lines.index("claims (verdict, effect):") + 2]
    assert claims.split() == ["random_labels", "memorised", "held", "inconclusive", "0.9", "0.9"]
    metrics = lines[lines.index("final metrics (mean over seeds):") + 2].split()
    assert metrics[:4] == ["random_labels", "deep", "2", "1"]  # two seeds in A, one in B
    assert metrics[6:8] == ["0.2", "0.5"]  # test accuracy: the mean over A's seeds, B's
    assert main(["compare", str(a), str(a)]) == 0
    assert "settings: the same" in capsys.readouterr().out


def test_compare_of_an_unfinished_run_is_one_line(tmp_path, capsys):
    a = make_run(tmp_path / "a", 30, "held", [0.1], "a" * 16)
    with pytest.raises(GenlabError, match=r"nothing/results/config.yaml: missing: .* is not a finished run"):
        compare(a, tmp_path / "nothing")
    assert main(["compare", str(a), str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
