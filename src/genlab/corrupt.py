"""Corrupted training data (Zhang et al. 2017, Fig. 1): noisy labels and corrupted inputs.

Pure torch functions, deterministic given a CPU torch.Generator. `corrupt_subset` makes
every random draw of one subset at once and returns them as a record; the subset file
stores that record, so training reads its data from the file and never depends on a
torch version's random number generator (the same reason the permutations and the
Gaussian images are stored rather than a seed to regenerate them).

Labels (`corrupt_labels`): with noise level p, exactly round(p * n) examples, chosen
uniformly without replacement, get a label drawn uniformly from the 10 classes. The
drawn label may equal the true one (Zhang's definition), so an example is *corrupted*
when its new label differs from the true label (`corrupted_mask`), a subset of the
*chosen* ones. Draws are nested across p: for one seed, the examples chosen at p are
the first of those chosen at any p' > p, with the same drawn labels, so the runs of
one noise sweep differ only by the added noise.

Inputs (float = uint8 / 255, genlab.mnist.to_float):
  shuffled_pixels  one fixed permutation of the 784 pixels, the same for every image;
  random_pixels    an independent permutation per training image;
  gaussian         every image replaced by N(mean, std^2) noise, mean and std being the
                   training subset's pixel mean and standard deviation in [0, 1] scale
                   (not clipped, so the noise keeps them).
The test set always keeps its true labels. Its images get the training inputs' treatment only
where a test image can be given the same one: with shuffled_pixels they are permuted by
the training permutation (the network can still learn, Zhang's point); random_pixels and
gaussian destroy the input-label relation per training image, there is nothing to carry
over, so test images stay clean and the test error shows what little transfers.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import GenlabError
from .mnist import to_float

NUM_CLASSES = 10
SIDE = 28
N_PIXELS = SIDE * SIDE  # 784
INPUTS = ("none", "shuffled_pixels", "random_pixels", "gaussian")
# A fixed tag mixed with the seed: this module's random stream stays independent of
# the one that drew the subset's indices from the same data_seed (genlab.data.make_subset).
STREAM_TAG = 0x636F7272  # "corr"


def n_chosen(n: int, p: float) -> int:
    """How many of n examples get a drawn label at noise level p: round(p * n).

    Python's round, in float arithmetic: ties go to the even integer, so 0.5 of 5
    examples (2.5) chooses 2 and 0.1 of 5 (0.5) chooses 0.
    """
    return round(p * n)


def _check_noise(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise GenlabError(f"label_noise {p!r} is outside [0, 1]")


def corrupt_labels(labels: torch.Tensor, p: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(n,) int64 true labels -> (new labels (n,) int64, chosen (n,) bool).

    Draw order (fixed, so that noise levels nest): a permutation of the n examples, then
    one uniform label per position of that permutation; the first round(p * n) positions
    are chosen and take their drawn label.
    """
    _check_noise(p)
    n = len(labels)
    order = torch.randperm(n, generator=generator)  # (n,)
    drawn = torch.randint(0, NUM_CLASSES, (n,), generator=generator, dtype=torch.int64)  # (n,)
    k = n_chosen(n, p)
    new = labels.clone()
    new[order[:k]] = drawn[:k]
    chosen = torch.zeros(n, dtype=torch.bool)
    chosen[order[:k]] = True
    return new, chosen


def corrupted_mask(new_labels: torch.Tensor, true_labels: torch.Tensor) -> torch.Tensor:
    """(n,) bool: the label trained on differs from the true one."""
    return new_labels != true_labels


def _check_images(images: torch.Tensor) -> None:
    if tuple(images.shape[-2:]) != (SIDE, SIDE):
        raise GenlabError(f"images of shape {tuple(images.shape)} are not (..., {SIDE}, {SIDE})")


def pixel_permutation(generator: torch.Generator) -> torch.Tensor:
    """(784,) int64: output pixel j (row-major) takes input pixel perm[j]."""
    return torch.randperm(N_PIXELS, generator=generator)


def permute_pixels(images: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """The same pixel permutation for every image; uint8 (N, 28, 28) or float (N, 1, 28, 28), shape kept."""
    _check_images(images)
    flat = images.flatten(-2)  # (..., 784)
    return flat[..., perm.long()].reshape(images.shape)


def random_pixel_permutations(n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 784) int64: an independent uniform permutation for each of n images."""
    if n == 0:
        return torch.empty(0, N_PIXELS, dtype=torch.int64)
    return torch.stack([torch.randperm(N_PIXELS, generator=generator) for _ in range(n)])


def apply_per_image_permutations(images: torch.Tensor, perms: torch.Tensor) -> torch.Tensor:
    """Image i's pixel j becomes its pixel perms[i, j]; (N, 28, 28) or (N, 1, 28, 28), perms (N, 784)."""
    _check_images(images)
    if perms.shape != (len(images), N_PIXELS):
        raise GenlabError(f"{tuple(perms.shape)} pixel permutations for {len(images)} images, expected ({len(images)}, {N_PIXELS})")
    flat = images.reshape(len(images), N_PIXELS)  # (N, 784)
    return flat.gather(1, perms.long()).reshape(images.shape)


def gaussian_images(n: int, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
    """float32 (n, 1, 28, 28) of N(mean, std^2) pixels, in the network's input scale (not clipped)."""
    noise = torch.randn(n, 1, SIDE, SIDE, generator=generator, dtype=torch.float32)
    return noise.mul_(std).add_(mean)


def pixel_stats(images_uint8: torch.Tensor) -> tuple[float, float]:
    """Mean and (population) standard deviation of all pixels, as floats in [0, 1] scale."""
    pixels = images_uint8.to(torch.float64).div(255.0)
    return pixels.mean().item(), pixels.std(correction=0).item()


def clean_corrupted_accuracy(pred: torch.Tensor, labels: torch.Tensor, corrupted: torch.Tensor) -> dict:
    """Accuracy of predicted classes (n,) on the labels trained on, over the clean and the corrupted examples.

    Memorisation shows as corrupted_train_accuracy rising; a group with no example gives None.
    """
    correct = pred == labels  # (n,) bool
    out = {}
    for key, mask in (("clean_train_accuracy", ~corrupted), ("corrupted_train_accuracy", corrupted)):
        count = int(mask.sum())
        out[key] = int(correct[mask].sum()) / count if count else None
    return out


def corruption_generator(seed: int) -> torch.Generator:
    """The generator of a subset's label and input noise: seeded from (seed, STREAM_TAG) through numpy's SeedSequence."""
    state = np.random.SeedSequence([int(seed), STREAM_TAG]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def corrupt_subset(images_uint8: torch.Tensor, labels: torch.Tensor, label_noise: float, input_corruption: str, seed: int) -> dict:
    """Every random draw of one corrupted training subset, as the record its subset file stores.

    images_uint8 (n, 28, 28) and labels (n,) are the subset's images and true labels, in
    subset order. Labels are drawn first, then the inputs, from one generator, so the labels
    of a seed do not depend on the input treatment. See the module docstring for the keys.
    """
    if input_corruption not in INPUTS:
        raise GenlabError(f"input_corruption {input_corruption!r} is not one of {', '.join(INPUTS)}")
    _check_images(images_uint8)
    if images_uint8.dtype != torch.uint8 or images_uint8.dim() != 3:
        raise GenlabError(f"corrupt_subset wants uint8 (n, 28, 28) images, got {images_uint8.dtype} {tuple(images_uint8.shape)}")
    if len(images_uint8) != len(labels):
        raise GenlabError(f"corrupt_subset: {len(images_uint8)} images but {len(labels)} labels")
    g = corruption_generator(seed)
    true_labels = labels.to(torch.int64).clone()
    new_labels, chosen = corrupt_labels(true_labels, label_noise, g)
    record = {
        "label_noise": float(label_noise),
        "input_corruption": input_corruption,
        "labels": new_labels,  # (n,) int64, trained on
        "true_labels": true_labels,  # (n,) int64
        "chosen": chosen,  # (n,) bool, given a drawn label
        "corrupted": corrupted_mask(new_labels, true_labels),  # (n,) bool, drawn label != true label
    }
    n = len(labels)
    if input_corruption == "shuffled_pixels":
        record["pixel_permutation"] = pixel_permutation(g)  # (784,) int64, test images too
    elif input_corruption == "random_pixels":
        # int16 holds 0..783 and makes the file 4x smaller than int64.
        record["pixel_permutations"] = random_pixel_permutations(n, g).to(torch.int16)  # (n, 784)
    elif input_corruption == "gaussian":
        mean, std = pixel_stats(images_uint8)
        record["gaussian_mean"], record["gaussian_std"] = mean, std
        record["gaussian_images"] = gaussian_images(n, mean, std, g)  # (n, 1, 28, 28) float32
    return record


def train_inputs(images_uint8: torch.Tensor, record: dict) -> torch.Tensor:
    """The network's training inputs, float (n, 1, 28, 28), from the subset's uint8 images and its record."""
    n = len(record["labels"])
    if len(images_uint8) != n:
        raise GenlabError(f"subset record holds {n} examples, {len(images_uint8)} training images given")
    kind = record["input_corruption"]
    if kind == "shuffled_pixels":
        return to_float(permute_pixels(images_uint8, record["pixel_permutation"]))
    if kind == "random_pixels":
        return to_float(apply_per_image_permutations(images_uint8, record["pixel_permutations"]))
    if kind == "gaussian":
        return record["gaussian_images"].to(torch.float32)
    if kind == "none":
        return to_float(images_uint8)
    raise GenlabError(f"subset record: input_corruption {kind!r} is not one of {', '.join(INPUTS)}")


def test_inputs(test_images_uint8: torch.Tensor, record: dict) -> torch.Tensor:
    """The test inputs, float (m, 1, 28, 28): permuted like training for shuffled_pixels, else clean."""
    if record["input_corruption"] == "shuffled_pixels":
        return to_float(permute_pixels(test_images_uint8, record["pixel_permutation"]))
    return to_float(test_images_uint8)


test_inputs.__test__ = False  # its name must not make pytest collect it where a test module imports it
