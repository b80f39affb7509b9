"""Packaging and reference files agree with each other: conda env, pyproject, config.yaml, schema."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

import genlab
from genlab.config import check_config, load_schema

ROOT = Path(__file__).resolve().parents[1]  # this checkout, whatever is installed

# Conda names of packages that pip knows under another name.
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
# Conda entries that are no runtime dependency of the package (pyproject has requires-python).
NOT_RUNTIME = {"python", "pip"}


def _name(spec: str) -> str:
    """Normalised package name of a pip requirement or conda match spec."""
    spec = spec.split("::")[-1].strip()  # conda channel prefix
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert match, f"cannot read a package name from {spec!r}"
    return re.sub(r"[-_.]+", "-", match.group(0).lower())


def conda_packages(path: Path) -> set[str]:
    names = set()
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        specs = entry["pip"] if isinstance(entry, dict) else [entry]  # the pip: section counts too
        for spec in specs:
            name = _name(spec)
            names.add(CONDA_TO_PIP.get(name, name))
    return names - NOT_RUNTIME


def pyproject_packages(path: Path) -> set[str]:
    return {_name(spec) for spec in tomllib.loads(path.read_text())["project"]["dependencies"]}


def test_conda_env_has_the_runtime_dependencies_of_pyproject():
    conda = conda_packages(ROOT / "envs" / "genlab.yaml")
    pip = pyproject_packages(ROOT / "pyproject.toml")
    assert conda == pip, (
        f"only in envs/genlab.yaml: {sorted(conda - pip)}; only in pyproject.toml: {sorted(pip - conda)}"
    )


def test_name_normalisation():
    assert _name("conda-forge::matplotlib-base>=3.7") == "matplotlib-base"
    assert _name("Jsonschema_Foo >=4") == "jsonschema-foo"
    assert _name("python=3.11") == "python"
    assert _name("torch==2.14.1") == "torch"


def test_tests_import_this_checkout():
    # pyproject's pythonpath puts src/ first: another clone's editable install must not win.
    src = (ROOT / "src").resolve()
    assert Path(genlab.__file__).resolve().is_relative_to(src), f"genlab imported from {genlab.__file__}, not {src}"


def _missing_keys(written: dict, full: dict, prefix: str = "") -> list[str]:
    """Dotted keys of `full` (nested mappings included) that `written` lacks."""
    missing = []
    for key, value in full.items():
        dotted = f"{prefix}{key}"
        if key not in written:
            missing.append(dotted)
        elif isinstance(value, dict) and isinstance(written[key], dict):
            missing += _missing_keys(written[key], value, dotted + ".")
    return missing


def test_config_yaml_equals_the_schema_defaults():
    schema = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
    written = yaml.safe_load((ROOT / "config.yaml").read_text())
    defaults = check_config({}, schema)
    # config.yaml spells out every key: filling defaults must not be what makes it equal.
    missing = _missing_keys(written, defaults)
    assert missing == [], f"config.yaml lacks keys the schema has defaults for: {missing}"
    checked = check_config(written, schema)
    differ = sorted(k for k in set(checked) | set(defaults) if checked.get(k) != defaults.get(k))
    assert checked == defaults, f"config.yaml differs from the schema defaults in: {differ}"
