"""Validation in one place: what the workflow (common.smk) and `genlab check-config` both call.

The JSON schema states every single key (type, range, enum, uniqueness, default); the
experiments' and measures' `check` functions state only what spans keys; then the sizes are
checked against the MNIST files when they exist. Every failure is one GenlabError naming the key.
"""

from __future__ import annotations

import copy
from pathlib import Path

from . import experiments, plugins
from .config import check_config, load_schema
from .errors import GenlabError
from .idx import split_size

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def schema(path: str | Path = SCHEMA) -> dict:
    """The workflow's schema with the sections of registered plugins (experiments and measure kinds)."""
    from . import measures

    merged = copy.deepcopy(load_schema(path))
    for module in experiments.modules():
        if getattr(module, "SCHEMA", None) is not None:
            merged["properties"][module.NAME] = module.SCHEMA
    measure_keys = merged["properties"]["measures"]["properties"]
    for kind in measures.names():
        measure_keys.update(getattr(measures.get(kind), "SCHEMA", None) or {})
    return merged


def validate(config: dict, schema_path: str | Path = SCHEMA, against_data: bool = True) -> dict:
    """The config with defaults filled in, after every check; plugins named in it are registered first."""
    if not isinstance(config, dict):
        raise GenlabError(f"the config must be a mapping of keys to values, got {type(config).__name__}")
    plugins.load(config.get("plugins") or [])
    checked = check_config(config, schema(schema_path))
    _check_chosen(checked)
    for name in experiments.chosen(checked):
        experiments.check(name, checked)
    from .measures import checks as measure_checks

    measure_checks.check(checked)
    if against_data:
        check_against_data(checked)
        measure_checks.check_against_data(checked)
    return checked


def _check_chosen(config: dict) -> None:
    wanted = config.get("experiments")
    if wanted is None:
        return
    known = experiments.available(config)
    for name in wanted:
        if name not in known:
            raise GenlabError(f"config key experiments: {name!r} is not one of {', '.join(known)}")
    if not wanted:
        raise GenlabError("config key experiments: empty, so nothing would run (leave the key out to run every experiment)")


def test_image_counts(config: dict, experiment: str) -> list[tuple[str, int | None]]:
    """(config key, number of test images) of every key of a section that counts test images."""
    section = config[experiment]
    keys = ["eval_test_size", *getattr(experiments.get(experiment), "TEST_IMAGE_KEYS", ())]
    return [(f"{experiment}.{key}", section.get(key)) for key in keys]


def check_against_data(config: dict) -> None:
    """Subsets larger than their split fail at parse time, before any job starts (skipped until MNIST exists)."""
    sizes = {split: split_size(config["data_root"], split) for split in ("train", "test")}
    where = Path(config["data_root"]) / "MNIST/raw"
    for experiment in experiments.chosen(config):
        n = config[experiment]["n_train"]
        if sizes["train"] is not None and n > sizes["train"]:
            raise GenlabError(f"config key {experiment}.n_train: {n} exceeds the {sizes['train']} training images in {where}")
        for key, n in test_image_counts(config, experiment):
            if sizes["test"] is not None and n is not None and n > sizes["test"]:
                raise GenlabError(f"config key {key}: {n} exceeds the {sizes['test']} test images in {where}")
