"""Dinh et al. 2017's rescaling of a ReLU network, and which measures notice it.

Scaling one layer's weights *and bias* by c > 0 and the next layer's weights by 1/c leaves the
function unchanged: ReLU(c z) = c ReLU(z), so the next layer sees c times its input and undoes
it (its own bias untouched). A measure of generalization that changes under it measures the
parameterisation, not the function.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..errors import GenlabError
from .weight_norms import weighted_layers

# Modules that commute with a positive scale, so layer k's output scale reaches layer k + 1 intact.
HOMOGENEOUS = (nn.ReLU, nn.Flatten, nn.Identity, nn.MaxPool2d)


def rescaled(model: nn.Module, layer: str, factor: float) -> nn.Module:
    """A copy of model with `layer` (e.g. "conv1") scaled by factor, bias included, and the next
    weighted layer's weights by 1 / factor. Refuses layers not separated by positively homogeneous modules."""
    if not factor > 0:
        raise GenlabError(f"rescaling factor must be > 0 (a negative one flips ReLU), got {factor!r}")
    copied = copy.deepcopy(model)
    layers = weighted_layers(copied)
    names = [name for name, _ in layers]
    if layer not in names[:-1]:
        raise GenlabError(f"layer {layer!r} is not one of {', '.join(names[:-1])} (a weighted layer with one after it)")
    k = names.index(layer)
    first, second = layers[k][1], layers[k + 1][1]
    between = _modules_between(copied, first, second)
    strange = [type(m).__name__ for m in between if not isinstance(m, HOMOGENEOUS)]
    if strange:
        raise GenlabError(f"between {layer} and {names[k + 1]} lie {', '.join(strange)}: not positively homogeneous")
    with torch.no_grad():
        first.weight.mul_(factor)
        if first.bias is not None:
            first.bias.mul_(factor)
        second.weight.div_(factor)
    return copied


def _modules_between(model: nn.Module, first: nn.Module, second: nn.Module) -> list[nn.Module]:
    """The leaf modules after `first` and before `second` in module order."""
    leaves = [m for m in model.modules() if not list(m.children())]
    return leaves[leaves.index(first) + 1 : leaves.index(second)]


def relative_change(before: float, after: float) -> float:
    """|after - before| / |before|; 0 when both are 0, NaN when either is NaN, inf when only before is 0."""
    if math.isnan(before) or math.isnan(after):
        return math.nan
    if before == after:
        return 0.0
    return abs(after - before) / abs(before) if before else math.inf


def invariance(model: nn.Module, data, context, layer: str, factor: float = 10.0, kinds=None) -> dict[str, dict]:
    """Every listed kind's measures on model and on rescaled(model, layer, factor):
    {measure: {"before", "after", "change", "declared"}}, declared: what genlab.measures.is_invariant says."""
    from . import is_invariant
    from .suite import run_measures

    before = run_measures(model, data, context, kinds)
    after = run_measures(rescaled(model, layer, factor), data, context, kinds)
    values = {r["measure"]: r["value"] for r in after}
    return {
        r["measure"]: {"before": r["value"], "after": values[r["measure"]],
                       "change": relative_change(r["value"], values[r["measure"]]), "declared": is_invariant(r["measure"])}
        for r in before if r["measure"] in values
    }
