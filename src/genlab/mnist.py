"""MNIST in torchvision's raw layout, read and checked without torchvision's loader.

Reading the idx files ourselves lets every defect (missing, truncated, wrong
magic number, images and labels disagreeing) be reported in one line naming the
file. torchvision is only used to download the files when they are absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import GenlabError
from .idx import IMAGE_MAGIC, LABEL_MAGIC, SIDE, SPLIT_FILES, raw_dir, raw_files, read_file, read_header


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64


def read_images(path: str | Path) -> torch.Tensor:
    path = Path(path)
    data = read_file(path)
    count, rows, cols = read_header(path, data, IMAGE_MAGIC, 3)
    if (rows, cols) != (SIDE, SIDE):
        raise GenlabError(f"{path}: images are {rows}x{cols}, expected {SIDE}x{SIDE}")
    expected = 16 + count * rows * cols
    if len(data) != expected:
        raise GenlabError(
            f"{path}: {len(data)} bytes, expected {expected} for the {count} images its header declares (truncated or corrupt)"
        )
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return torch.from_numpy(pixels.copy())


def read_labels(path: str | Path) -> torch.Tensor:
    path = Path(path)
    data = read_file(path)
    (count,) = read_header(path, data, LABEL_MAGIC, 1)
    expected = 8 + count
    if len(data) != expected:
        raise GenlabError(
            f"{path}: {len(data)} bytes, expected {expected} for the {count} labels its header declares (truncated or corrupt)"
        )
    labels = np.frombuffer(data, dtype=np.uint8, offset=8)
    if count and labels.max() > 9:
        raise GenlabError(f"{path}: label {int(labels.max())} found, MNIST labels are 0..9")
    return torch.from_numpy(labels.astype(np.int64))


def load_split(root: str | Path, split: str) -> Split:
    if split not in SPLIT_FILES:
        raise GenlabError(f"unknown MNIST split {split!r}, expected one of {sorted(SPLIT_FILES)}")
    image_name, label_name = SPLIT_FILES[split]
    images = read_images(raw_dir(root) / image_name)
    labels = read_labels(raw_dir(root) / label_name)
    if len(images) != len(labels):
        raise GenlabError(
            f"{raw_dir(root) / label_name}: {len(labels)} labels but {image_name} holds {len(images)} images"
        )
    return Split(images, labels)


def ensure_mnist(root: str | Path) -> list[Path]:
    """Download MNIST with torchvision if any raw file is missing; never touches present files.

    Concurrent jobs take a lock, so one downloads and the others wait; downloaded files
    must be the published ones (their SHA-256 is in genlab.fingerprint).
    """
    import fcntl

    from .fingerprint import PUBLISHED_SHA256, file_sha256

    if all(p.is_file() for p in raw_files(root)):
        return raw_files(root)
    raw_dir(root).mkdir(parents=True, exist_ok=True)
    with open(raw_dir(root) / ".download.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [p for p in raw_files(root) if not p.is_file()]
        if missing:
            try:
                from torchvision.datasets import MNIST  # only needed for the download

                for train in (True, False):
                    MNIST(root=str(root), train=train, download=True)
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                raise GenlabError(
                    f"{missing[0]}: MNIST file missing and the download failed ({reason}); set data_root to a folder holding MNIST/raw/"
                ) from None
            for path in missing:
                if path.is_file() and file_sha256(path) != PUBLISHED_SHA256[path.name]:
                    raise GenlabError(f"{path}: downloaded file is not the published MNIST (SHA-256 differs)")
    for split in SPLIT_FILES:
        load_split(root, split)  # fail here, naming the file, rather than in every job
    return raw_files(root)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1], the network's input."""
    return images.unsqueeze(1).to(torch.float32).div_(255.0)
