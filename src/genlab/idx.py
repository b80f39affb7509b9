"""MNIST's idx file layout, without torch: cheap enough for the Snakefile to read headers at parse time."""

from __future__ import annotations

import struct
from pathlib import Path

from .errors import GenlabError

IMAGE_MAGIC = 2051  # idx3, unsigned bytes
LABEL_MAGIC = 2049  # idx1, unsigned bytes
SIDE = 28
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def raw_dir(root: str | Path) -> Path:
    """torchvision's layout: <root>/MNIST/raw/<file>."""
    return Path(root) / "MNIST" / "raw"


def raw_files(root: str | Path) -> list[Path]:
    return [raw_dir(root) / name for pair in SPLIT_FILES.values() for name in pair]


def read_header(path: Path, data: bytes, magic: int, n_dims: int) -> tuple[int, ...]:
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise GenlabError(f"{path}: truncated: {len(data)} bytes, an idx header needs {header_size}")
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:
        raise GenlabError(f"{path}: wrong magic number {found}, expected {magic} for this MNIST file")
    return struct.unpack(f">{n_dims}I", data[4:header_size])


def read_file(path: Path) -> bytes:
    if not path.is_file():
        raise GenlabError(f"{path}: MNIST file missing (set data_root to the folder holding MNIST/raw/)")
    return path.read_bytes()


def split_size(root: str | Path, split: str) -> int | None:
    """Image count from the header alone (cheap); None when the file is absent."""
    path = raw_dir(root) / SPLIT_FILES[split][0]
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        head = f.read(8)
    return read_header(path, head, IMAGE_MAGIC, 1)[0]
