"""Atomic file writes: a reader never sees a half-written result.

Every output (CSV, checkpoint, figure, resume state) is written to a temporary
file in the destination folder and renamed over the target, which POSIX makes
atomic on one filesystem.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import GenlabError


def _write_error(path: Path, exc: BaseException) -> GenlabError:
    """One line naming the file, and "no space left" when that is the cause (torch hides ENOSPC)."""
    errno_ = getattr(exc, "errno", None)
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    # torch.save reports a full disk as a RuntimeError without errno: then the free space tells.
    if errno_ == errno.ENOSPC or (errno_ is None and free is not None and free < 1 << 20):
        return GenlabError(f"{path}: no space left on device ({free if free is not None else '?'} bytes free in {path.parent})")
    reason = getattr(exc, "strerror", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return GenlabError(f"{path}: cannot write ({reason})")


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed write of `path` left behind (only its own: names are per target)."""
    path = Path(path)
    stale = list(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path that replaces `path` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
            raise _write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(folder: str | os.PathLike) -> None:
    """Fail before work starts when `folder` cannot take files (read-only, full, missing permission)."""
    folder = Path(folder)
    with atomic_path(folder / ".write-probe") as tmp:
        tmp.write_bytes(b"ok")
    (folder / ".write-probe").unlink(missing_ok=True)


def save_torch(obj: object, path: str | os.PathLike) -> None:
    import torch  # here, not at the top: plotting jobs write files without loading torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_csv(path: str | os.PathLike, rows, columns: Sequence[str]) -> None:
    """Write a table (a DataFrame or a list of row dicts) through pandas, columns in this order.

    Cells keep their Python values (object dtype): integers stay integers, floats keep
    full precision (repr), None is empty, so reruns compare byte for byte.
    """
    import pandas as pd  # here, not at the top: most jobs never write a table

    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=list(columns), dtype=object)
    extra = sorted(set(df.columns) - set(columns))
    if extra:
        raise ValueError(f"{path}: columns {extra} are not in the table's columns {list(columns)}")
    df = df.reindex(columns=list(columns)).astype(object)
    df = df.where(df.notna(), None)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")  # LF: awk, grep and diff read it as written


def save_figure(fig, path: str | os.PathLike, dpi: int = 150) -> None:
    fmt = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
