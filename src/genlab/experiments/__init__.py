"""The study's experiments, one module each.

A module holds an experiment's whole path: its config section (`NAME`), its runs
(`run_names`, `train_config`), its checks, its tables and its figures (`FIGURES`,
the plot functions). Its rules are in workflow/rules/<NAME>.smk. Shared parts
(subsets, training, per-checkpoint measures, metrics tables) live outside.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from ..errors import GenlabError

# Order of the study: rule all, tables and the CLI list them so.
NAMES = ("random_labels", "params_vs_gen", "interpolation", "sensitivity", "corruption")


def get(name: str) -> ModuleType:
    if name not in NAMES:
        raise GenlabError(f"unknown experiment {name!r}, expected one of {', '.join(NAMES)}")
    return import_module(f"{__name__}.{name}")
