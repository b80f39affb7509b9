"""Checkpoints: weights + the full training config + final metrics, loaded safely (weights_only)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import __version__
from .atomic import save_torch
from .config import TrainConfig
from .errors import GenlabError
from .models import from_config, n_params

CHECKPOINT_FORMAT = "genlab-checkpoint-2"


def save_checkpoint(path: str | Path, model: nn.Module, cfg: TrainConfig, metrics: dict, data: str | None = None) -> None:
    save_torch(
        {
            "format": CHECKPOINT_FORMAT,
            "config": cfg.to_dict(),
            "data": data,  # fingerprint digest of the MNIST files it was trained from
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "metrics": dict(metrics),
            "n_params": n_params(model),
            "genlab_version": __version__,
            "torch_version": str(torch.__version__),  # TorchVersion is not weights_only-loadable
        },
        path,
    )


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint (never unpickling code) and check that its weights fit its architecture."""
    path = Path(path)
    if not path.is_file():
        raise GenlabError(f"{path}: checkpoint missing")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # Checkpoints are written atomically, so an unreadable one was damaged later: say how to recover.
        raise GenlabError(
            f"{path}: not a readable checkpoint ({reason[:200]}); delete it and rerun: the run that made it is trained again"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise GenlabError(f"{path}: not a genlab checkpoint (expected format {CHECKPOINT_FORMAT})")
    ckpt["config"] = TrainConfig.from_dict(ckpt["config"], source=str(path))
    model_for(ckpt, path)  # raises if the weights do not fit the recorded architecture
    return ckpt


def model_for(ckpt: dict, path: str | Path = "checkpoint") -> nn.Module:
    cfg: TrainConfig = ckpt["config"]
    model = from_config(cfg)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GenlabError(f"{path}: weights do not fit architecture {cfg.arch} (width {cfg.width}): {first}") from None
    return model


def load_planned(path: str | Path, planned: dict, fingerprint: dict | None = None) -> dict:
    """Load a checkpoint and check it is the run planned for its path, trained on the planned data.

    A checkpoint copied over another run's, or endpoints swapped, fail here in one
    line naming the file and the fields that differ.
    """
    ckpt = load_checkpoint(path)
    have = ckpt["config"].to_dict()
    differ = [k for k in sorted(set(have) | set(planned)) if have.get(k) != planned.get(k)]
    if differ:
        shown = ", ".join(f"{k}={have.get(k)!r} (planned {planned.get(k)!r})" for k in differ)
        raise GenlabError(f"{path}: not the run planned for this path: {shown}")
    if fingerprint is not None and ckpt.get("data") != fingerprint["digest"]:
        raise GenlabError(f"{path}: trained on other MNIST files (fingerprint {ckpt.get('data')}, now {fingerprint['digest']})")
    return ckpt
