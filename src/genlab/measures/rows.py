"""The measure row and table columns, and how a number becomes part of a measure name.

Torch-free: the workflow's parse step and the figures import it.
"""

from __future__ import annotations

from ..errors import GenlabError

KEY = ["experiment", "run", "seed"]  # one checkpoint
# What a kind's run() returns per measure (None where a key does not apply). error_bound: a
# bound on |value - exact| when the value comes from an iteration with one (Lanczos: a Hessian
# eigenvalue is within error_bound of value), next to the converged flag it decides.
ROW_COLUMNS = ["measure", "value", "std_error", "n_points", "steps", "converged", "error_bound"]
# results/measures/{experiment}/{run}/seed{k}.csv and results/measures/all.csv.
MEASURE_COLUMNS = [*KEY, "measure", "value", "n_points", "std_error", "steps", "converged", "error_bound"]


def measure_suffix(value: float) -> str:
    """The shortest decimal that reads back as the same float: Python's repr of float(value).

    1e-3 -> "0.001", 5e-4 -> "0.0005", 0.01 -> "0.01", 1e-5 -> "1e-05", 1 -> "1.0". The
    same number always gives the same name, and the name gives back the number.
    """
    return repr(float(value))


def scaled_kind(kind: str, key: str):
    """measure_name, names and check of a kind that writes one measure per scale listed in measures.<key>
    (a box size, a noise level): "<kind>_<scale>"; a listed kind needs at least one scale."""

    def measure_name(value: float) -> str:
        return f"{kind}_{measure_suffix(value)}"

    def names(section: dict) -> list[str]:
        return [measure_name(value) for value in section[key]]

    def check(section: dict, config: dict) -> None:
        if kind in section["measures"] and not section[key]:
            raise GenlabError(f"config key measures.{key}: empty, but measures.measures lists {kind}")

    return measure_name, names, check


def row(
    measure: str, value: float, n_points: int, std_error=None, steps=None, converged=None, error_bound=None
) -> dict:
    """One measure of one checkpoint, keys in ROW_COLUMNS order."""
    return {
        "measure": measure,
        "value": value,
        "std_error": std_error,
        "n_points": n_points,
        "steps": steps,
        "converged": converged,
        "error_bound": error_bound,
    }


# Families of measures (a kind's FAMILY): what the model zoo's findings compare (Jiang et al. 2019).
SHARPNESS_FAMILY, NORM_FAMILY, OPTIMISATION_FAMILY = "sharpness and PAC-Bayes", "norm and margin", "optimisation"
