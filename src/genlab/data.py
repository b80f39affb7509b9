"""Training subsets as files, and the tensors one job works on.

A subset file fixes which training images a run uses and the labels it trains on
(permuted for random labels, partly redrawn for label noise), drawn once from
`data_seed`, and carries those images itself: a training job reads one small file
instead of parsing all of MNIST. It also records the data fingerprint it was made
from, which every job compares with the one the workflow planned with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .atomic import save_torch
from .errors import GenlabError
from .fingerprint import check_file, data_fingerprint
from .config import SUBSET_KEYS
from .idx import SPLIT_FILES, raw_dir
from .mnist import ensure_mnist, load_split, to_float

SUBSET_FORMAT = "genlab-subset-3"


def subset_spec(n_train: int, seed: int, permuted_labels: bool = False, label_noise: float = 0.0, input_corruption: str = "none") -> dict:
    """The parameters of a subset (TrainConfig.subset gives a run's): what draws its images and labels."""
    return dict(zip(SUBSET_KEYS, (n_train, seed, permuted_labels, label_noise, input_corruption)))



def make_subset(data_root: str | Path, params: dict) -> dict:
    """Draw the subset described by `params` (subset_spec's keys) from the MNIST training split."""
    train = load_split(data_root, "train")
    n_train, seed = params["n_train"], params["seed"]
    if n_train > len(train.labels):
        raise GenlabError(f"n_train {n_train} exceeds the {len(train.labels)} images of the training split in {data_root}")
    g = torch.Generator().manual_seed(seed)
    indices = torch.randperm(len(train.labels), generator=g)[:n_train].sort().values
    true_labels = train.labels[indices]
    labels, noise = true_labels, None
    if params.get("permuted_labels"):
        # Zhang et al.: shuffle the labels among the chosen images, keeping the class counts.
        labels = true_labels[torch.randperm(n_train, generator=g)]
    if params.get("label_noise", 0.0) > 0 or params.get("input_corruption", "none") != "none":
        from .corrupt import corrupt_subset

        noise = corrupt_subset(train.images[indices], true_labels, params["label_noise"], params["input_corruption"], seed)
        labels = noise["labels"]
    return {
        "format": SUBSET_FORMAT,
        "params": {k: params.get(k) for k in SUBSET_KEYS},
        "indices": indices,  # (n_train,) int64, rows of the MNIST training split
        "images": train.images[indices],  # (n_train, 28, 28) uint8, as in MNIST (before any input noise)
        "labels": labels,  # (n_train,) int64, the labels trained on
        "true_labels": true_labels,  # (n_train,) int64
        "noise": noise,  # genlab.corrupt's record (which examples, which pixels), else None
    }


def subset_job(out: str, data_root: str, params: dict, fingerprint: dict) -> dict:
    ensure_mnist(data_root)
    found = data_fingerprint(data_root)
    if found["digest"] != fingerprint["digest"]:
        raise GenlabError(f"{raw_dir(data_root)}: MNIST files changed since the workflow was planned; rerun snakemake")
    subset = make_subset(data_root, params)
    subset["data"] = fingerprint["digest"]
    save_torch(subset, out)
    return subset


def read_subset(path: str | Path) -> dict:
    try:
        subset = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise GenlabError(f"{path}: subset file missing") from None
    except Exception as exc:
        raise GenlabError(f"{path}: unreadable subset file ({type(exc).__name__})") from None
    if not isinstance(subset, dict) or subset.get("format") != SUBSET_FORMAT:
        raise GenlabError(f"{path}: not a genlab subset file (expected format {SUBSET_FORMAT}); rerun snakemake")
    return subset


def check_subset(subset: dict, path: str | Path, params: dict, fingerprint: dict) -> None:
    """The subset a job reads must be the one its run was planned with, from the same data."""
    have = subset["params"]
    if have != params:
        raise GenlabError(f"{path}: subset {have} does not match the run's config {params}")
    if subset.get("data") != fingerprint["digest"]:
        raise GenlabError(f"{path}: made from other MNIST files (fingerprint {subset.get('data')}, now {fingerprint['digest']})")


@dataclass(frozen=True)
class Tensors:
    """One job's data, already on the device: training never copies from the host per step."""

    x_train: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64, the labels trained on
    x_test: torch.Tensor  # (M, 1, 28, 28)
    y_test: torch.Tensor  # (M,) true labels
    corrupted: torch.Tensor | None = None  # (N,) bool: label differs from the true one (experiment 5)

    def head(self, n_train: int | None, n_test: int | None) -> "Tensors":
        """The first n images of each split: the fixed evaluation sets (None keeps all)."""
        for name, n, have in (("train", n_train, len(self.y_train)), ("test", n_test, len(self.y_test))):
            if n is not None and n > have:
                raise GenlabError(f"evaluation set of {n} {name} images requested, only {have} available")
        corrupted = None if self.corrupted is None else self.corrupted[:n_train]
        return Tensors(self.x_train[:n_train], self.y_train[:n_train], self.x_test[:n_test], self.y_test[:n_test], corrupted)


def load_test_split(data_root: str | Path, fingerprint: dict | None, n_test: int | None, key: str = "eval_test_size"):
    """The first n_test test images and labels, after checking the files are the planned ones."""
    if fingerprint is not None:
        for name in SPLIT_FILES["test"]:
            check_file(raw_dir(data_root) / name, fingerprint["files"][name])
    test = load_split(data_root, "test")
    if n_test is not None and n_test > len(test.labels):
        raise GenlabError(f"config key {key}: {n_test} exceeds the {len(test.labels)} test images in {raw_dir(data_root)}")
    return test.images[:n_test], test.labels[:n_test]


def load_test_images(data_root: str | Path, fingerprint: dict | None, n_points: int, key: str) -> torch.Tensor:
    images, _ = load_test_split(data_root, fingerprint, n_points, key)
    return to_float(images)


def tensors_from_subset(subset: dict, test_images: torch.Tensor, test_labels: torch.Tensor, device: torch.device) -> Tensors:
    noise = subset.get("noise")
    if noise is None:
        x_train, x_test, corrupted = to_float(subset["images"]), to_float(test_images), None
    else:
        from .corrupt import test_inputs, train_inputs

        x_train, x_test = train_inputs(subset["images"], noise), test_inputs(test_images, noise)
        corrupted = noise["corrupted"].to(device)
    return Tensors(x_train.to(device), subset["labels"].to(device), x_test.to(device), test_labels.to(device), corrupted)


def load_tensors(data_root: str | Path, subset: dict, device: torch.device, n_test: int | None = None) -> Tensors:
    """A subset's tensors with the first n_test test images, unchecked (tests and benchmarks)."""
    images, labels = load_test_split(data_root, None, n_test)
    return tensors_from_subset(subset, images, labels, device)


def load_job_data(
    subset_path: str | Path, cfg, data_root: str | Path, fingerprint: dict, device: torch.device, n_test: int | None
) -> Tensors:
    """A run's data: its subset (checked against the run's config) and the first n_test test images."""
    subset = read_subset(subset_path)
    check_subset(subset, subset_path, cfg.subset(), fingerprint)
    images, labels = load_test_split(data_root, fingerprint, n_test)
    return tensors_from_subset(subset, images, labels, device)
