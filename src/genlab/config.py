"""Configuration: the typed record of one training run, and the workflow config check.

The workflow config (config.yaml) is validated against a JSON schema whose every
key carries a default; errors become one line that names the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import GenlabError

PRECISIONS = ("fp32", "bf16")
EVAL_SCHEDULES = ("all", "final", "log")
WIDTH_ARCHS = ("width_cnn", "fc")  # the architectures (genlab.models) built at a width alone (zoo_cnn: width and depth)
OPTIMIZERS = ("adam", "sgd")  # sgd: with momentum 0.9 (genlab.training.make_optimizer)
# Fields added for the model zoo: left out of to_dict at their defaults, so every other run's
# config dict, resume-state name and provenance digest stay what they were (older checkpoints load).
OMITTED_AT_DEFAULT = ("depth", "dropout", "optimizer", "weight_decay", "target_train_loss")
# What draws a training subset (its file records them; every job checks them): see TrainConfig.subset.
SUBSET_KEYS = ("n_train", "seed", "permuted_labels", "label_noise", "input_corruption")
# Keys that change how a job runs, never what it computes: changing them reruns nothing (preset, a
# label, only redraws the figures that print it).
RUNTIME_KEYS = ("preset", "data_root", "device", "train_threads", "eval_batch_size", "resume_interval_s", "warm_jobs")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained network; saved in every checkpoint."""

    experiment: str  # which experiment of the registry it belongs to
    run: str  # the configuration's name within the experiment, e.g. "width8"
    seed: int  # initialisation and shuffling; one job per seed
    arch: str  # deep_cnn | width_cnn | shallow_cnn | fc | zoo_cnn (genlab.models.ARCHS)
    width: int | None  # only WIDTH_ARCHS and zoo_cnn have one
    lr: float  # the optimizer's learning rate
    batch_size: int
    epochs: int
    n_train: int  # training subset size
    data_seed: int  # which images form the subset (and the label permutation)
    permuted_labels: bool  # trained on the subset's labels permuted among its images (Zhang et al.)
    eval_train_size: int | None = None  # None: the whole training subset each epoch
    eval_test_size: int | None = None  # None: the whole test set; else its first k images, fixed
    precision: str = "fp32"  # bf16 autocast is opt-in: it changes the numbers
    label_noise: float = 0.0  # experiment 5: fraction of examples given a uniformly drawn label
    input_corruption: str = "none"  # experiment 5: none | shuffled_pixels | random_pixels | gaussian
    fit_threshold: float | None = None  # stop once train accuracy reaches it (experiment 5); None: all epochs
    eval_epochs: str = "all"  # all | final | log: which epochs are measured (the last always is)
    depth: int | None = None  # zoo_cnn's number of conv layers; the other archs have a fixed depth
    dropout: float = 0.0  # zoo_cnn: dropout probability before its dense layer
    optimizer: str = "adam"  # adam | sgd (momentum 0.9)
    weight_decay: float = 0.0  # L2 penalty, the optimizer's weight_decay
    target_train_loss: float | None = None  # stop once train loss (eval mode) is <= it (the zoo); None: all epochs

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise GenlabError(f"optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if not 0 <= self.dropout < 1:
            raise GenlabError(f"{self.experiment}/{self.run}: dropout must be in [0, 1), got {self.dropout}")
        if self.target_train_loss is not None and self.target_train_loss <= 0:
            raise GenlabError(f"{self.experiment}/{self.run}: target_train_loss must be > 0, got {self.target_train_loss}")
        if self.target_train_loss is not None and self.fit_threshold is not None:
            raise GenlabError(f"{self.experiment}/{self.run}: fit_threshold and target_train_loss are two stopping rules, give one")
        if self.precision not in PRECISIONS:
            raise GenlabError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.eval_epochs not in EVAL_SCHEDULES:
            raise GenlabError(f"eval_epochs {self.eval_epochs!r} is not one of {', '.join(EVAL_SCHEDULES)}")
        for name in ("batch_size", "epochs", "n_train"):
            if getattr(self, name) < 1:
                raise GenlabError(f"{self.experiment}/{self.run}: {name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        defaults = {f.name: f.default for f in fields(self)}
        for name in OMITTED_AT_DEFAULT:
            if data[name] == defaults[name]:
                del data[name]
        return data

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

    def evaluated_epochs(self) -> list[int]:
        """1-based epochs whose metrics are measured and written to history.csv."""
        return eval_epochs(self.eval_epochs, self.epochs)

    def subset(self) -> dict[str, Any]:
        """The parameters of this run's training subset (its images are drawn with data_seed)."""
        values = (self.n_train, self.data_seed, self.permuted_labels, self.label_noise, self.input_corruption)
        return dict(zip(SUBSET_KEYS, values))

    def stop_rule(self) -> "StopRule | None":
        """When training stops before cfg.epochs: fit_threshold (train accuracy) or target_train_loss (train loss)."""
        if self.fit_threshold is not None:
            return StopRule("train_accuracy", self.fit_threshold, above=True)
        if self.target_train_loss is not None:
            return StopRule("train_loss", self.target_train_loss, above=False)
        return None

    def test_each_epoch(self) -> bool:
        """Whether every measured epoch also measures the test split. A run trained to a target train loss
        (the zoo) needs only its train loss per epoch: its test split is measured where it stops, which on
        a small subset saves most of the evaluation (10000 test images against n_train)."""
        return self.target_train_loss is None

    def steps_per_epoch(self) -> int:
        """Optimizer steps of one epoch: the last batch may be smaller (torch-free: the estimate uses it)."""
        return -(-self.n_train // self.batch_size)

    def describe(self) -> str:
        return f"{self.experiment}/{self.run} seed {self.seed} (arch {self.arch}, lr {self.lr}, batch {self.batch_size})"


@dataclass(frozen=True)
class StopRule:
    """Stop at the first measured epoch whose `metric` (on the evaluated training set, eval mode)
    is >= `value` (above) or <= `value` (below)."""

    metric: str
    value: float
    above: bool

    def reached(self, metrics: dict) -> bool:
        got = metrics[self.metric]
        return got >= self.value if self.above else got <= self.value

    def describe(self) -> str:
        return f"{self.metric} {'>=' if self.above else '<='} {self.value:g}"


def eval_epochs(schedule: str, epochs: int) -> list[int]:
    """all: 1..E; final: E; log: round(E ** (i / 19)) for i = 0..19, deduplicated (1 and E always in)."""
    if schedule == "all":
        return list(range(1, epochs + 1))
    if schedule == "final":
        return [epochs]
    return sorted({round(epochs ** (i / 19)) for i in range(20)} | {1, epochs})


# ---------------------------------------------------------------- workflow config


def load_schema(path: str | Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def _resolve(sub: dict, root: dict) -> dict:
    """Follow a local "$ref" ("#/$defs/name"), keeping the keys written beside it."""
    if "$ref" in sub:
        target = root
        for part in sub["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        sub = {**target, **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def _types(sub: dict) -> set:
    kind = sub.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def _fill_defaults(config: dict, schema: dict, root: dict | None = None) -> None:
    root = root or schema
    for key, sub in schema.get("properties", {}).items():
        sub = _resolve(sub, root)
        if key not in config and "default" in sub:
            config[key] = copy.deepcopy(sub["default"])
        if isinstance(config.get(key), dict) and "object" in _types(sub):
            _fill_defaults(config[key], sub, root)


_YAML11_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_INTEGER = re.compile(r"^[-+]?\d+$")


def _coerce_numbers(value, sub: dict, root: dict):
    """Numbers that arrive as strings are numbers where the schema wants one: YAML 1.1 (PyYAML) reads
    1e-3 as a string, and Snakemake's --config 'section={epochs: 40}' hands over '40'."""
    sub = _resolve(sub, root)
    if isinstance(value, str) and "integer" in _types(sub) and _INTEGER.match(value.strip()):
        return int(value)
    if isinstance(value, str) and "number" in _types(sub) and _YAML11_NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        props = sub.get("properties", {})
        return {k: _coerce_numbers(v, props[k], root) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(sub.get("items"), dict):
        return [_coerce_numbers(v, sub["items"], root) for v in value]
    return value


def _is_integer(checker, instance) -> bool:
    # JSON Schema counts 200.0 as an integer; a subset size or an epoch count written so is a typo.
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


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
    bounds = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<", "maximum": "<="}
    if error.validator in bounds:
        return f"config key {where}: {error.instance!r} must be {bounds[error.validator]} {error.validator_value}"
    if error.validator == "type":
        wanted = error.validator_value
        if isinstance(error.instance, float) and "integer" in ([wanted] if isinstance(wanted, str) else wanted):
            return f"config key {where}: {error.instance!r} is not an integer (write {int(error.instance)})" if error.instance.is_integer() else f"config key {where}: {error.instance!r} is not an integer"
        if wanted == "boolean" and str(error.instance).lower() in ("true", "false"):
            # Snakemake's --config reads only True and False as booleans.
            return f"config key {where}: {error.instance!r} is not a boolean (write {str(error.instance).capitalize()})"
        return f"config key {where}: {error.instance!r} is not of type {wanted}"
    return f"config key {where}: {error.message}"


def check_config(config: dict, schema: dict) -> dict:
    """Return the config with defaults filled in, or raise GenlabError naming the bad key."""
    if not isinstance(config, dict):
        raise GenlabError(f"the config must be a mapping of keys to values, got {type(config).__name__}")
    checked = _coerce_numbers(copy.deepcopy(dict(config)), schema, schema)
    _fill_defaults(checked, schema)
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(checked), key=lambda e: (len(e.absolute_path), _dotted(e.absolute_path)))
    if errors:
        # The deepest-first order hides the real cause behind "oneOf" wrappers; the shallowest names the key.
        raise GenlabError(_one_line(errors[0]))
    return checked
