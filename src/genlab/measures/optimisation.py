"""Measure kind "optimisation": how noisy the optimiser's steps are at the end of training.

    optimisation_gradient_noise   sum_b ||g_b - g_mean||^2 / (B - 1): the variance of the minibatch
                                  gradients g_b (each the mean-loss gradient of batch_size points, the
                                  run's own batch size) over the B full batches of the n_points training
                                  points, at the checkpoint (Jiang et al. 2019, Appendix C, "variance of
                                  gradients"; its equation number is not checked here). NaN where
                                  n_points holds fewer than 2 batches (interpolation's batch 1024)

Jiang et al.'s steps to reach cross-entropy 0.1 need the training history, which a checkpoint does
not hold: the model zoo records them per run (results/zoo/runs.csv) and ranks them under this kind's
name, STEPS_TO_LOSS (genlab.experiments.zoo_ranking). No config key.
"""

from __future__ import annotations

from .rows import OPTIMISATION_FAMILY, row

NAME = "optimisation"
FAMILY = OPTIMISATION_FAMILY  # which family of measures (the model zoo's findings compare families)
KEYS = ()
SCHEMA = None
PER_CHECKPOINT = True
# The gradient of a layer scaled by c is scaled by 1/c; the steps to a loss are the run's, not the weights'.
INVARIANT = {"gradient_noise": False, "steps_to_loss_0.1": True}
STEPS_TO_LOSS = f"{NAME}_steps_to_loss_0.1"  # Jiang et al.'s "number of steps to reach loss 0.1", from the history


def check(section: dict, config: dict) -> None:
    pass  # the batch size is the run's: known per checkpoint, see run()


def names(section: dict) -> list[str]:
    return [f"{NAME}_gradient_noise"]


def is_invariant(measure_name: str) -> bool | None:
    return INVARIANT.get(measure_name.removeprefix(NAME + "_"))


def run(model, data, context) -> list[dict]:
    from .gradient_noise import gradient_noise

    x, y = data
    batch = context.cfg.batch_size
    if len(x) < 2 * batch:  # no spread to measure: NaN, which the ranking leaves out
        return [row(f"{NAME}_gradient_noise", float("nan"), len(x))]
    found = gradient_noise(model, x, y, batch)
    return [row(f"{NAME}_gradient_noise", found["value"], found["batches"] * batch, std_error=found["std_error"])]


def cost(section: dict, n_train: int, n_test: int, grad_s: float, eval_s: float) -> float:
    """One loss-and-gradient pass per image."""
    return section["n_points"] * grad_s


def is_sharpness(measure_name: str) -> bool:
    return False
