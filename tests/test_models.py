import pytest
import torch

from genlab.errors import GenlabError
from genlab.models import build_model, n_params


@pytest.mark.parametrize("width", [1, 2, 5, 10, 20])
def test_width_model_has_676w2_21w_10_parameters(width):
    assert n_params(build_model("width_cnn", width)) == 676 * width**2 + 21 * width + 10


@pytest.mark.parametrize("width", [1, 7, 100])
def test_fc_model_has_795w_10_parameters(width):
    assert n_params(build_model("fc", width)) == 795 * width + 10


def test_deep_and_shallow_parameter_counts():
    assert n_params(build_model("deep_cnn")) == 3_989_642
    assert n_params(build_model("shallow_cnn")) == 108_330


@pytest.mark.parametrize("arch,width", [("deep_cnn", None), ("width_cnn", 3), ("shallow_cnn", None), ("fc", 4)])
def test_models_map_mnist_batches_to_ten_logits(arch, width):
    assert build_model(arch, width)(torch.zeros(4, 1, 28, 28)).shape == (4, 10)


def test_unknown_architecture_is_named():
    with pytest.raises(GenlabError, match="unknown architecture 'vgg'"):
        build_model("vgg")


@pytest.mark.parametrize("arch", ["width_cnn", "fc"])
def test_width_archs_need_a_positive_width(arch):
    with pytest.raises(GenlabError, match=f"{arch} needs a positive integer width"):
        build_model(arch, 0)
