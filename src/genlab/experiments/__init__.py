"""The registry of the study's experiments: the one place that lists them.

Each experiment is one module of this package (or a plugin module, see genlab.plugins)
that describes itself: its config section (`NAME`), runs (`run_names`, `train_config`,
`subset_name`), cross-key checks (`check`), extra jobs with their cost (`jobs`), outputs
(`outputs`, `FIGURES`), claims (`claim_inputs`, `claims`) and its rules file (`RULES`).
Everything else (plan, claims, estimate, measures, the workflow, the tests) loops over
`names()` / `chosen(config)` and never names an experiment itself.
"""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry

# The study's experiments, in the order rule all, tables, claims and the CLI list them.
BUILTIN = ("random_labels", "params_vs_gen", "interpolation", "sensitivity", "corruption", "double_descent", "zoo")
# What every experiment module defines; subset_name, check, outputs and jobs have defaults (below).
INTERFACE = ("NAME", "FIGURES", "run_names", "train_config", "claim_inputs", "claims")

_REGISTRY = Registry("experiment", __name__, BUILTIN, INTERFACE)
names, get, modules, register = _REGISTRY.names, _REGISTRY.get, _REGISTRY.modules, _REGISTRY.register


def available(config: dict) -> list[str]:
    """The study's experiments and those of the plugin files this config names (config key plugins)."""
    files = {str(Path(path).resolve()) for path in config.get("plugins") or ()}
    return [name for name in names() if name in BUILTIN or str(Path(get(name).__file__).resolve()) in files]


def chosen(config: dict) -> list[str]:
    """The experiments this config runs (top-level key `experiments`, default all available), in registry order."""
    wanted = config.get("experiments")
    return [name for name in available(config) if wanted is None or name in wanted]


def seeds(config: dict, name: str) -> list[int]:
    """An experiment's training seeds: its section's `seeds`, else the top-level ones."""
    from ._shared import seeds as section_seeds

    return section_seeds(config, name)


# ---- an experiment's optional functions, with their defaults


def subset_name(name: str, run: str) -> str:
    """The subset file a run trains on: results/subsets/<subset_name>.pt; by default one per experiment."""
    own = getattr(get(name), "subset_name", None)
    return own(run) if own else name


def check(name: str, config: dict) -> None:
    """The experiment's cross-key rules; by default its batch size must fit its training subset."""
    own = getattr(get(name), "check", None)
    if own:
        own(config)
    elif "batch_size" in config[name] and "n_train" in config[name]:
        from ._shared import check_batch_size

        check_batch_size(config, f"{name}.batch_size", config[name]["batch_size"], f"{name}.n_train")


def outputs(name: str, config: dict) -> list[str]:
    """What the experiment's named target builds; by default its figures, metrics table and provenance record."""
    own = getattr(get(name), "outputs", None)
    if own:
        return own(config)
    from ._shared import standard_outputs

    return standard_outputs(name, get(name).FIGURES)


def jobs(name: str, config: dict, cost) -> list[dict]:
    """Its jobs besides subsets, trainings, metrics, provenance and one plot job, priced by `cost`; by default none."""
    own = getattr(get(name), "jobs", None)
    return own(config, cost) if own else []


def rules_file(name: str, basedir: str | Path) -> str:
    """An experiment's rules file: its module's RULES (a plugin's, relative to its file), else
    workflow/rules/<name>.smk of the workflow at basedir."""
    module = get(name)
    rules = getattr(module, "RULES", None)
    if rules is None:
        return str(Path(basedir) / "workflow" / "rules" / f"{name}.smk")
    path = Path(rules)
    return str(path if path.is_absolute() else Path(module.__file__).parent / path)
