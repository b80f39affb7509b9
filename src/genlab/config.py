"""Configuration: the typed record of one training run, and the workflow config check.

The workflow config (config.yaml) is validated against a JSON schema whose every
key carries a default; errors become one line that names the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import GenlabError

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained network; saved in every checkpoint."""

    experiment: str  # which study it belongs to, e.g. "random_labels"
    run: str  # the configuration's name within the experiment, e.g. "width8"
    seed: int  # initialisation and shuffling; one job per seed
    arch: str  # deep_cnn | width_cnn | shallow_cnn
    width: int | None  # only width_cnn has one
    lr: float  # Adam's learning rate
    batch_size: int
    epochs: int
    n_train: int  # training subset size
    data_seed: int  # which images form the subset (and the label permutation)
    random_labels: bool  # experiment 1 trains on permuted labels
    eval_train_size: int | None = None  # None: the whole training subset each epoch
    eval_test_size: int | None = None  # None: the whole test set; else its first k images, fixed
    eval_batch_size: int = 1000  # only bounds memory; results do not depend on it
    precision: str = "fp32"  # bf16 autocast is opt-in: it changes the numbers

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise GenlabError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        for name in ("batch_size", "epochs", "n_train", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise GenlabError(f"{self.experiment}/{self.run}: {name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        missing = sorted(n for n in names if n not in data and cls.__dataclass_fields__[n].default is MISSING)
        if unknown or missing:
            raise GenlabError(f"{source}: not a genlab training config (unknown keys {unknown}, missing {missing})")
        return cls(**data)

    def digest(self) -> str:
        """Short stable hash of every field: names resume states so a changed config never resumes a stale one."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def describe(self) -> str:
        return f"{self.experiment}/{self.run} seed {self.seed} (arch {self.arch}, lr {self.lr}, batch {self.batch_size})"


# ---------------------------------------------------------------- workflow config


def load_schema(path: str | Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def _fill_defaults(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = copy.deepcopy(sub["default"])
        if isinstance(config.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(config[key], sub)


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _one_line(error: jsonschema.ValidationError) -> str:
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        prefix = "" if not error.absolute_path else where + "."
        names = ", ".join(prefix + str(k) for k in extra)
        return f"unknown config key {names} (allowed here: {', '.join(sorted(allowed))})"
    if error.validator in ("exclusiveMinimum", "minimum"):
        return f"config key {where}: {error.instance!r} must be {'>' if error.validator == 'exclusiveMinimum' else '>='} {error.validator_value}"
    if error.validator == "type":
        return f"config key {where}: {error.instance!r} is not of type {error.validator_value}"
    return f"config key {where}: {error.message}"


def check_config(config: dict, schema: dict) -> dict:
    """Return the config with defaults filled in, or raise GenlabError naming the bad key."""
    checked = copy.deepcopy(dict(config))
    _fill_defaults(checked, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(checked), key=lambda e: (len(e.absolute_path), _dotted(e.absolute_path)))
    if errors:
        # The deepest-first order hides the real cause behind "oneOf" wrappers; the shallowest names the key.
        raise GenlabError(_one_line(errors[0]))
    return checked
