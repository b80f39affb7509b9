"""Training subsets as files, and the tensors one training job works on.

A subset file fixes which training images an experiment uses (and, for random
labels, the permuted labels), drawn once from `data_seed`, so that every job of
the experiment, and every seed, sees the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import save_torch
from .errors import GenlabError
from .mnist import load_split, to_float

SUBSET_FORMAT = "genlab-subset-1"


def make_subset(data_root: str | Path, n_train: int, seed: int, random_labels: bool) -> dict:
    train = load_split(data_root, "train")
    if n_train > len(train.labels):
        raise GenlabError(f"n_train {n_train} exceeds the {len(train.labels)} images of the training split in {data_root}")
    g = torch.Generator().manual_seed(seed)
    indices = torch.randperm(len(train.labels), generator=g)[:n_train].sort().values
    labels = train.labels[indices]
    if random_labels:
        # Zhang et al.: shuffle the labels among the chosen images, keeping the class counts.
        labels = labels[torch.randperm(n_train, generator=g)]
    return {
        "format": SUBSET_FORMAT,
        "indices": indices,  # (n_train,) int64, rows of the MNIST training split
        "labels": labels,  # (n_train,) int64, the labels trained on
        "n_train": n_train,
        "seed": seed,
        "random_labels": random_labels,
    }


def write_subset(path: str | Path, data_root: str | Path, n_train: int, seed: int, random_labels: bool) -> dict:
    subset = make_subset(data_root, n_train, seed, random_labels)
    save_torch(subset, path)
    return subset


def read_subset(path: str | Path) -> dict:
    try:
        subset = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise GenlabError(f"{path}: subset file missing") from None
    except Exception as exc:
        raise GenlabError(f"{path}: unreadable subset file ({type(exc).__name__})") from None
    if not isinstance(subset, dict) or subset.get("format") != SUBSET_FORMAT:
        raise GenlabError(f"{path}: not a genlab subset file (expected format {SUBSET_FORMAT})")
    return subset


@dataclass(frozen=True)
class Tensors:
    """One job's data, already on the device: training never copies from the host per step."""

    x_train: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64, possibly permuted labels
    x_test: torch.Tensor  # (M, 1, 28, 28)
    y_test: torch.Tensor  # (M,)

    def head(self, n_train: int | None, n_test: int | None) -> "Tensors":
        """The first n images of each split: the fixed evaluation sets (None keeps all)."""
        for name, n, have in (("train", n_train, len(self.y_train)), ("test", n_test, len(self.y_test))):
            if n is not None and n > have:
                raise GenlabError(f"evaluation set of {n} {name} images requested, only {have} available")
        return Tensors(self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test], self.y_test[:n_test])


def load_tensors(data_root: str | Path, subset: dict, device: torch.device, n_test: int | None = None) -> Tensors:
    train = load_split(data_root, "train")
    test = load_split(data_root, "test")
    indices = subset["indices"]
    if len(indices) and int(indices.max()) >= len(train.labels):
        raise GenlabError(f"subset indexes image {int(indices.max())} but {data_root} holds {len(train.labels)} training images")
    if n_test is not None and n_test > len(test.labels):
        raise GenlabError(f"{n_test} test images requested, {data_root} holds {len(test.labels)}")
    return Tensors(
        x_train=to_float(train.images[indices]).to(device),
        y_train=subset["labels"].to(device),
        x_test=to_float(test.images[:n_test]).to(device),
        y_test=test.labels[:n_test].to(device),
    )
