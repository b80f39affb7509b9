import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # mnist_files helper

from mnist_files import write_mnist  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    """A small synthetic MNIST in torchvision's layout, shared by the tests that only read it."""
    return write_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: extra intra-op threads only contend with other jobs on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def repo() -> Path:
    return REPO
