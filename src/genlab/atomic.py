"""Atomic file writes: a reader never sees a half-written result.

Every output (CSV, checkpoint, figure, resume state) is written to a temporary
file in the destination folder and renamed over the target, which POSIX makes
atomic on one filesystem.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path that replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_torch(obj: object, path: str | os.PathLike) -> None:
    import torch  # here, not at the top: plotting jobs write files without loading torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping], columns: Sequence[str]) -> None:
    """Write rows as CSV; floats keep full precision (repr) so reruns compare byte for byte."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="raise")
            writer.writeheader()
            writer.writerows(rows)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save_figure(fig, path: str | os.PathLike, dpi: int = 150) -> None:
    fmt = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
