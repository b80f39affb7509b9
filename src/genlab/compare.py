"""`genlab compare RUN_A RUN_B`: two finished runs side by side, from their result files only.

A run is a folder holding results/ (the checkout itself, or one made by `snakemake --directory
runs/NAME`). Printed: the settings that differ (results/config.yaml, the effective config), the
claims (verdict and effect of each), and the final metrics (mean over seeds of each run).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from .errors import GenlabError

CONFIG = "results/config.yaml"
CLAIMS = "results/claims.csv"
METRICS = "results/metrics"
CLAIM_COLUMNS = ["verdict", "effect"]
METRIC_COLUMNS = ["train_accuracy", "test_accuracy", "test_loss"]


def flat(mapping: dict, prefix: str = "") -> dict[str, object]:
    """Nested config sections as dotted keys: {"random_labels": {"epochs": 40}} -> {"random_labels.epochs": 40}."""
    out: dict[str, object] = {}
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_config(run: Path) -> tuple[dict, str]:
    """A run's effective config and its digest (from the file's header)."""
    path = run / CONFIG
    if not path.is_file():
        raise GenlabError(f"{path}: missing: {run} is not a finished run (it has no effective config)")
    text = path.read_text()
    digest = text.split("# config digest: ", 1)[1][:16] if "# config digest: " in text else "?"
    return yaml.safe_load(text) or {}, digest


def differing_settings(a: dict, b: dict) -> pd.DataFrame:
    """One row per dotted key whose value differs (or exists in one run only)."""
    fa, fb = flat(a), flat(b)
    missing = "(absent)"
    rows = [{"setting": key, "A": fa.get(key, missing), "B": fb.get(key, missing)}
            for key in sorted(set(fa) | set(fb)) if fa.get(key, missing) != fb.get(key, missing)]
    return pd.DataFrame(rows, columns=["setting", "A", "B"])


def side_by_side(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """The two tables joined on `keys` (rows of either run kept), their `columns` suffixed A and B."""
    joined = a[keys + columns].merge(b[keys + columns], on=keys, how="outer", suffixes=(" A", " B"), sort=False)
    return joined[keys + [f"{c} {s}" for c in columns for s in ("A", "B")]]


def claims_table(run: Path) -> pd.DataFrame | None:
    path = run / CLAIMS
    return pd.read_csv(path) if path.is_file() else None


def final_metrics(run: Path) -> pd.DataFrame | None:
    """Mean over seeds of each run's final metrics, every experiment's metrics table stacked."""
    tables = sorted((run / METRICS).glob("*.csv"))
    if not tables:
        return None
    df = pd.concat([pd.read_csv(path) for path in tables], ignore_index=True)
    df["run"] = df["run"].astype(str)
    grouped = df.groupby(["experiment", "run"], sort=False)
    means = grouped[METRIC_COLUMNS].mean()
    means["seeds"] = grouped["seed"].nunique()
    return means.reset_index()


def compare(run_a: str | Path, run_b: str | Path) -> list[str]:
    """The lines `genlab compare` prints."""
    a, b = Path(run_a), Path(run_b)
    (config_a, digest_a), (config_b, digest_b) = read_config(a), read_config(b)
    lines = [f"A = {a} (config digest {digest_a})", f"B = {b} (config digest {digest_b})", ""]
    settings = differing_settings(config_a, config_b)
    lines.append(f"settings that differ ({len(settings)}):" if len(settings) else "settings: the same")
    if len(settings):
        lines += ["  " + line for line in settings.to_string(index=False).splitlines()]
    for title, read, keys, columns in (
        ("claims (verdict, effect)", claims_table, ["experiment", "claim"], CLAIM_COLUMNS),
        ("final metrics (mean over seeds)", final_metrics, ["experiment", "run"], ["seeds", *METRIC_COLUMNS]),
    ):
        ta, tb = read(a), read(b)
        lines.append("")
        if ta is None or tb is None:
            lines.append(f"{title}: not in {', '.join(str(r) for r, t in ((a, ta), (b, tb)) if t is None)}")
            continue
        table = side_by_side(ta, tb, keys, columns)
        lines.append(f"{title}:")
        lines += ["  " + line for line in table.to_string(index=False, na_rep="-", float_format="{:.4g}".format).splitlines()]
    return lines
