"""The cross-key rules of config section `measures`; the JSON schema states every single key.

One GenlabError of one line naming the key. Called by genlab.validate at parse time:
torch-free.
"""

from __future__ import annotations

from .. import experiments
from ..errors import GenlabError
from ..idx import split_size
from . import checkpoint_kinds, modules
from .plan import measured_experiments

KEY = "config key measures"


def _registered(section: dict, key: str, allowed: list[str]) -> None:
    for value in section[key]:
        if value not in allowed:
            raise GenlabError(f"{KEY}.{key}: {value!r} is not one of {', '.join(allowed)}")


def check(config: dict) -> None:
    """Listed experiments and kinds are registered ones, n_points fits every measured subset, then each kind's rules."""
    section = config["measures"]
    _registered(section, "experiments", experiments.names())
    _registered(section, "measures", checkpoint_kinds())
    for experiment in measured_experiments(config):
        n_train = config[experiment]["n_train"]
        if section["n_points"] > n_train:
            raise GenlabError(
                f"{KEY}.n_points: {section['n_points']} exceeds {experiment}.n_train ({n_train}), "
                "the training subset its checkpoints are measured on"
            )
    for kind in modules():
        kind.check(section, config)


def check_against_data(config: dict) -> None:
    """Sizes against the MNIST test split, for the kinds that evaluate test images (skipped until MNIST exists)."""
    n_test = split_size(config["data_root"], "test")
    for kind in modules():
        against_data = getattr(kind, "check_against_data", None)
        if against_data is not None:
            against_data(config["measures"], config, n_test)
