"""Provenance records: what each experiment's results were made from, and whether the results on disk match.

The workflow writes results/provenance/<experiment>.json (the config section, every run's
training config, the data fingerprint and their digest) and results/config.yaml (the
effective config). A report made with a config other than the one behind the results
on disk says so in one line per experiment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from .atomic import atomic_path
from .config import RUNTIME_KEYS


def write_provenance(record: dict, out: str | Path) -> None:
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def effective(config: dict) -> dict:
    """The config without its runtime-only keys: what the results depend on."""
    return {k: v for k, v in config.items() if k not in RUNTIME_KEYS}


def config_digest(config: dict) -> str:
    """16 hex digits naming the effective config; results/config.yaml and results/claims.csv carry it."""
    from .plan import digest

    return digest(effective(config))


def write_effective_config(config: dict, out: str | Path) -> None:
    header = (
        "# The effective config of the run that made these results: config.yaml, presets and --config\n"
        f"# merged, schema defaults filled in. Runtime-only keys ({', '.join(RUNTIME_KEYS)}) are left out:\n"
        "# they change how a job runs, never a result.\n"
        f"# config digest: {config_digest(config)} (also in results/claims.csv)\n"
    )
    shown = effective(config)
    with atomic_path(out) as tmp:
        tmp.write_text(header + yaml.safe_dump(shown, sort_keys=False))


def recorded_digest(path: str | Path) -> str | None:
    try:
        return json.loads(Path(path).read_text()).get("digest")
    except (OSError, ValueError, AttributeError):
        return None


def report_mismatches(provenance: dict[str, dict], folder: str | Path = "results/provenance") -> list[str]:
    """One line per experiment whose results on disk were made from another config or other data."""
    lines = []
    for experiment, record in provenance.items():
        found = recorded_digest(Path(folder) / f"{experiment}.json")
        if found is not None and found != record["digest"]:
            lines.append(
                f"genlab: note: the {experiment} results on disk were made with another config or other data "
                f"(provenance {found}, this config {record['digest']}): the report shows those results; "
                f"see results/provenance/{experiment}.json"
            )
    for line in lines:
        print(line, file=sys.stderr)
    return lines
