"""Where a job runs: CUDA when present (respecting CUDA_VISIBLE_DEVICES), else the CPUs granted."""

from __future__ import annotations

import os
import platform
import sys

import torch

from .errors import GenlabError


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise GenlabError("config key device: 'cuda' requested but no CUDA device is visible (check CUDA_VISIBLE_DEVICES)")
    if requested not in ("cpu", "cuda"):
        raise GenlabError(f"config key device: {requested!r} is not one of auto, cpu, cuda")
    return torch.device(requested)


def configure(threads: int, device: torch.device) -> None:
    """Threads from Snakemake/Slurm, and deterministic kernels (bitwise-reproducible on CPU)."""
    torch.set_num_threads(max(1, int(threads)))
    if device.type == "cuda":
        # cuBLAS needs this before its first call to be deterministic.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        _deterministic(warn_only=True)
    else:
        _deterministic(warn_only=False)
    # Deterministic mode also NaN-fills every new uninitialised tensor, a debugging aid that
    # costs ~5% per step; every tensor here is written before it is read, so results are unchanged.
    torch.utils.deterministic.fill_uninitialized_memory = False


def _deterministic(warn_only: bool) -> None:
    """torch.use_deterministic_algorithms(True) without its import of the compiler's config.

    The public call imports torch._inductor.config (1.5 s in a fresh process) only to set
    inductor's own flag, which matters only once inductor is loaded; jobs never compile.
    """
    if "torch._inductor.config" in sys.modules or not hasattr(torch._C, "_set_deterministic_algorithms"):
        torch.use_deterministic_algorithms(True, warn_only=warn_only)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=warn_only)


def describe(device: torch.device) -> str:
    """One log line: node, device, threads, and what Slurm granted, so a job's log says where it ran."""
    parts = [f"node {platform.node()}", f"device {device}", f"threads {torch.get_num_threads()}"]
    if device.type == "cuda":
        parts.append(f"gpu {torch.cuda.get_device_name(device)}")
    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "SLURM_CPUS_PER_TASK"):
        if var in os.environ:
            parts.append(f"{var}={os.environ[var]}")
    return ", ".join(parts)
