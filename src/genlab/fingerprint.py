"""What data a result was made from: the SHA-256 of the four MNIST files.

The fingerprint stands for the data wherever it lives (`data_root` spelling and
location do not matter), goes into every subset and checkpoint, and is a
parameter of every downstream rule, so replacing the files reruns what they feed.
Hashing the 55 MB takes about 0.05 s, so every parse hashes afresh: file times
can be forged, content cannot.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import GenlabError
from .idx import SPLIT_FILES, raw_dir

# SHA-256 of the published MNIST files, uncompressed (torchvision's raw layout).
PUBLISHED_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FILE_NAMES = [name for pair in SPLIT_FILES.values() for name in pair]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data_root: str | Path) -> dict:
    """{"files": {name: sha256}, "digest": 16 hex, "published": bool}.

    A missing file counts as the published one: it is downloaded and checked against
    that hash before any job reads it, so a later parse gives the same fingerprint.
    """
    files = {}
    for name in FILE_NAMES:
        path = raw_dir(data_root) / name
        files[name] = file_sha256(path) if path.is_file() else PUBLISHED_SHA256[name]
    blob = json.dumps(files, sort_keys=True).encode()
    return {
        "files": files,
        "digest": hashlib.sha256(blob).hexdigest()[:16],
        "published": files == PUBLISHED_SHA256,
    }


def differing_files(fingerprint: dict) -> list[str]:
    return [name for name in FILE_NAMES if fingerprint["files"][name] != PUBLISHED_SHA256[name]]


def check_file(path: str | Path, expected_sha256: str) -> None:
    """Fail in one line when a file a job reads is not the one its inputs were made from."""
    found = file_sha256(path)
    if found != expected_sha256:
        raise GenlabError(
            f"{path}: content changed since the workflow was planned (sha256 {found[:12]}, expected {expected_sha256[:12]}); rerun snakemake"
        )
