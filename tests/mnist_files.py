"""Small MNIST-format files written by the tests themselves (no network, no ../shared).

Each class k is a bright 6x6 block at its own position plus noise: learnable in a few
steps, so short trainings show a falling loss.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from genlab.idx import IMAGE_MAGIC, LABEL_MAGIC, SPLIT_FILES, raw_dir


def synthetic_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r, c = 3 + 8 * (k // 4), 3 + 8 * (k % 4)
        images[i, r : r + 6, c : c + 6] = 255
    return images, labels


def idx_images(images: np.ndarray) -> bytes:
    return struct.pack(">IIII", IMAGE_MAGIC, len(images), 28, 28) + images.tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", LABEL_MAGIC, len(labels)) + labels.tobytes()


def write_mnist(root: str | Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> Path:
    """Write the four raw files under root/MNIST/raw/ and return root."""
    folder = raw_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        images, labels = synthetic_split(n, s)
        image_name, label_name = SPLIT_FILES[split]
        (folder / image_name).write_bytes(idx_images(images))
        (folder / label_name).write_bytes(idx_labels(labels))
    return Path(root)
