import torch

from genlab.data import make_subset, subset_spec
from genlab.idx import split_size
from genlab.mnist import load_split
from mnist_files import synthetic_split


def test_load_split_reads_what_was_written(mnist_root):
    images, labels = synthetic_split(600, 0)
    split = load_split(mnist_root, "train")
    assert split.images.shape == (600, 28, 28) and split.images.dtype == torch.uint8
    assert torch.equal(split.images, torch.from_numpy(images))
    assert torch.equal(split.labels, torch.from_numpy(labels.astype("int64")))
    assert split_size(mnist_root, "test") == 200


def test_subset_is_a_fixed_function_of_its_seed(mnist_root):
    a = make_subset(mnist_root, subset_spec(100, 3, False))
    b = make_subset(mnist_root, subset_spec(100, 3, False))
    c = make_subset(mnist_root, subset_spec(100, 4, False))
    assert torch.equal(a["indices"], b["indices"]) and not torch.equal(a["indices"], c["indices"])
    true = load_split(mnist_root, "train").labels
    assert torch.equal(a["labels"], true[a["indices"]])


def test_random_labels_are_a_permutation_of_the_true_ones(mnist_root):
    subset = make_subset(mnist_root, subset_spec(300, 0, True))
    true = load_split(mnist_root, "train").labels[subset["indices"]]
    assert torch.equal(torch.bincount(subset["labels"], minlength=10), torch.bincount(true, minlength=10))
    assert (subset["labels"] == true).float().mean() < 0.3  # mostly wrong: chance is ~0.1
