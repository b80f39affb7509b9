"""Checkpoints: weights + the full training config + final metrics, loaded safely (weights_only)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import __version__
from .atomic import save_torch
from .config import TrainConfig
from .errors import GenlabError
from .models import build_model, n_params

CHECKPOINT_FORMAT = "genlab-checkpoint-1"


def save_checkpoint(path: str | Path, model: nn.Module, cfg: TrainConfig, metrics: dict) -> None:
    save_torch(
        {
            "format": CHECKPOINT_FORMAT,
            "config": cfg.to_dict(),
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
        raise GenlabError(f"{path}: not a readable checkpoint ({reason[:200]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise GenlabError(f"{path}: not a genlab checkpoint (expected format {CHECKPOINT_FORMAT})")
    ckpt["config"] = TrainConfig.from_dict(ckpt["config"], source=str(path))
    model_for(ckpt, path)  # raises if the weights do not fit the recorded architecture
    return ckpt


def model_for(ckpt: dict, path: str | Path = "checkpoint") -> nn.Module:
    cfg: TrainConfig = ckpt["config"]
    model = build_model(cfg.arch, cfg.width)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise GenlabError(f"{path}: weights do not fit architecture {cfg.arch} (width {cfg.width}): {first}") from None
    return model


def require(ckpt: dict, path: str | Path, **expected) -> None:
    """Fail with the file and the mismatch when a checkpoint is not what a measure needs."""
    cfg = ckpt["config"]
    for key, want in expected.items():
        have = getattr(cfg, key)
        if have != want:
            raise GenlabError(f"{path}: checkpoint has {key}={have!r}, this step needs {key}={want!r}")
