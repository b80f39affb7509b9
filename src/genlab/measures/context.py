"""What a measure kind's run() knows about the checkpoint it measures, besides the model and data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch stays out of the parse step
    import torch

    from ..config import TrainConfig
    from ..data import Tensors


@dataclass(frozen=True)
class MeasureContext:
    cfg: TrainConfig  # the run's training config (from its checkpoint)
    options: dict  # config section `measures`: the keys the job was given (genlab.measures.plan)
    seed: int  # measures.seed: Lanczos start, Hutchinson probes, noise draws
    chunk_size: int  # images per forward pass (eval_batch_size): bounds memory, not the result
    n_train: int  # images in the run's training subset
    # The run's whole training subset (labels trained on, inputs as trained on) and test images:
    # the run's own test evaluation set in a `measure` job, landscape.eval_test_size in a `landscape` job.
    subset: Tensors

    @property
    def device(self) -> torch.device:
        return self.subset.x_train.device

    def initial_state(self) -> dict[str, torch.Tensor]:
        """theta_0: the weights the run started from, re-created from its seed (as training does)."""
        from ..training import init_model

        return init_model(self.cfg, self.device).state_dict()
