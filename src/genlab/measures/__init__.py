"""The registry of measure kinds: the one place that lists them.

Each kind is one module of this package (or a plugin module, see genlab.plugins) that
describes itself:

    NAME            the kind, e.g. "keskar"; every measure name it writes is NAME or starts with NAME_
    KEYS            the keys of config section `measures` it owns (the grouping is written only there)
    SCHEMA          None for the built-in kinds (workflow/schemas/config.schema.yaml holds their
                    keys); a plugin's {key: JSON schema}, merged into the measures section
    PER_CHECKPOINT  True: computed in the per-checkpoint `measure` job when measures.measures lists
                    it; False: a job of its own (landscape)
    check(section, config)                       cross-key rules only; one-line GenlabError naming the key
    run(model, data, context) -> list[dict]      rows {measure, value, std_error, n_points, steps, converged}
    cost(section, n_train, n_test, grad_s, eval_s) -> float   seconds of work on one checkpoint
    is_sharpness(measure_name) -> bool           a measure the "large batch is sharper" claim uses
    names(section) -> list[str]                  the measure names it writes for that config
  optional:
    checkpoints(config) -> [(experiment, run, seed)]        the checkpoints of its own jobs
                                                            (required when PER_CHECKPOINT is False)
    check_against_data(section, config, n_test)             sizes against the MNIST test split
    is_invariant(measure_name) -> bool | None               unchanged when one ReLU layer is scaled by c
                                                            and the next by 1/c (genlab.measures.reparam)

Nothing else (suite, jobs, checks, tables, the estimate, the claims) names a kind: they loop
over `names()`. Importing this package (and a kind module) does not import torch: the
workflow's parse step uses it.
"""

from __future__ import annotations

from types import ModuleType

from ..errors import GenlabError
from ..registry import Registry

# The built-in kinds, in the order their rows appear in a measure table.
BUILTIN = ("hessian", "keskar", "average_sharpness", "landscape", "norms", "pacbayes", "optimisation")
# Keys of config section `measures` that no kind owns.
SHARED_KEYS = ("experiments", "measures", "n_points", "seed")
INTERFACE = ("NAME", "KEYS", "SCHEMA", "PER_CHECKPOINT", "check", "run", "cost", "is_sharpness", "names")


def _vet(module: ModuleType) -> None:
    """A plugin kind with jobs of its own lists its checkpoints; it owns config keys no other kind owns."""
    where = getattr(module, "__file__", module)
    if not module.PER_CHECKPOINT and not hasattr(module, "checkpoints"):
        raise GenlabError(f"{where}: measure kind {module.NAME!r} lacks checkpoints")
    taken = {key: kind for kind in names() for key in get(kind).KEYS}
    taken.update({key: "(shared)" for key in SHARED_KEYS})
    for key in module.KEYS:
        if key in taken:
            raise GenlabError(f"{where}: config key measures.{key} of kind {module.NAME!r} is owned by {taken[key]} already")


_REGISTRY = Registry("measure kind", __name__, BUILTIN, INTERFACE, _vet)
names, get, modules, register = _REGISTRY.names, _REGISTRY.get, _REGISTRY.modules, _REGISTRY.register


def listed(section: dict) -> list[str]:
    """The per-checkpoint kinds a measures section lists (measures.measures), in registry order."""
    wanted = section["measures"]
    return [kind for kind in names() if kind in wanted and get(kind).PER_CHECKPOINT]


def per_checkpoint(config: dict) -> list[str]:
    """The kinds the config's `measure` jobs compute: those listed in measures.measures."""
    return listed(config["measures"])


def checkpoint_kinds() -> list[str]:
    """Every kind that measures.measures may list."""
    return [kind for kind in names() if get(kind).PER_CHECKPOINT]


def own_keys(kinds: list[str]) -> list[str]:
    """The config keys of section `measures` the given kinds own."""
    return [key for kind in kinds for key in get(kind).KEYS]


def kind_of(measure_name: str) -> str | None:
    """The kind that writes a measure ("keskar_0.001" -> "keskar"); None for a name no kind writes."""
    found = [kind for kind in names() if measure_name == kind or measure_name.startswith(kind + "_")]
    return max(found, key=len) if found else None  # the most specific kind name wins


def is_sharpness(measure_name: str) -> bool:
    """Whether the "large batch is sharper" claim uses this measure: some kind says so."""
    return any(get(kind).is_sharpness(measure_name) for kind in names())


def measure_names(config: dict) -> list[str]:
    """The measure names the config's `measure` jobs write (those not depending on the network)."""
    section = config["measures"]
    return [name for kind in per_checkpoint(config) for name in get(kind).names(section)]


def is_invariant(measure_name: str) -> bool | None:
    """Whether the measure is invariant under genlab.measures.reparam's rescaling; None where its kind does not say."""
    kind = kind_of(measure_name)
    says = getattr(get(kind), "is_invariant", None) if kind else None
    return says(measure_name) if says else None


def sharpness_names(config: dict) -> list[str]:
    """Of measure_names, those the sharpness claim uses."""
    return [name for name in measure_names(config) if is_sharpness(name)]
