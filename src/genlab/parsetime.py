"""Checks the Snakefile makes while it is parsed, before any job starts (no torch import unless needed)."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import GenlabError
from .fingerprint import differing_files


def check_device(device: str) -> None:
    """`device: cuda` on a machine without CUDA fails now, not in every job."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise GenlabError("config key device: 'cuda' requested but no CUDA device is visible (use auto or cpu)")


def fingerprint_warning(fingerprint: dict, data_root: str | Path) -> str | None:
    """One line, once per invocation, when the data is not the published MNIST: used as another data set."""
    differ = differing_files(fingerprint)
    if not differ:
        return None
    line = (
        f"genlab: warning: {Path(data_root) / 'MNIST/raw'}: {', '.join(differ)} differ from the published MNIST "
        f"(SHA-256); using them as another data set (fingerprint {fingerprint['digest']})"
    )
    print(line, file=sys.stderr)
    return line


def put_first_on_pythonpath(src: str) -> None:
    """Jobs run this workflow's own package, whatever genlab is installed.

    Snakemake appends a script's folder to sys.path, after site-packages, so an installed
    genlab (say, an editable install of another checkout) would win. PYTHONPATH comes first,
    and every job inherits it: local jobs as subprocesses, Slurm jobs through sbatch's
    exported environment.
    """
    import os

    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *rest])


def anchored_paths(config: dict, checkout: str | Path) -> dict:
    """data_root and plugin files, when relative, as paths under the checkout (the Snakefile's folder).

    So a run kept in its own directory (`snakemake --directory runs/quick ...`) reads the same
    MNIST copy and plugins as a run in the checkout: these paths never depend on the run directory.
    """

    def anchor(path):  # anything but a text is left to the schema's one-line error
        return str(Path(checkout, path)) if isinstance(path, str) and not Path(path).is_absolute() else path

    out = {"data_root": anchor(config["data_root"])}
    if isinstance(config.get("plugins"), list):
        out["plugins"] = [anchor(path) for path in config["plugins"]]
    return out
