"""A researcher's own experiments and measure kinds, from files, without editing the package.

Config key `plugins` lists Python files. Each defines `KIND` ("experiment", the default, or
"measure") and the interface of its registry (genlab.experiments or genlab.measures); an
experiment's `RULES` names its rules file, which the Snakefile includes. The workflow registers
them when it parses the config, and every job again before its one call (genlab.scripting.job).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from . import experiments
from .errors import GenlabError

KINDS = ("experiment", "measure")


def load(paths: Sequence[str | Path]) -> list:
    """Import and register each plugin file once per process; returns the modules."""
    if isinstance(paths, (str, Path)):
        raise GenlabError(f"config key plugins: {paths!r} must be a list of files")
    from . import measures

    loaded = []
    for path in paths:
        module = import_file(path)
        kind = getattr(module, "KIND", "experiment")
        if kind not in KINDS:
            raise GenlabError(f"{path}: KIND {kind!r} is not one of {', '.join(KINDS)}")
        registry = experiments if kind == "experiment" else measures
        registry.register(module)  # the same module again is a no-op; another of a taken name is refused
        loaded.append(module)
    return loaded


def import_file(path: str | Path) -> ModuleType:
    """Import a plugin module from its file, once per process (the same path gives the same module)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise GenlabError(f"config key plugins: {path}: no such file")
    name = "genlab_plugin_" + path.stem
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
