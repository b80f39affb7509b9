"""The columns of the tables every experiment shares, defined once (torch-free: the parse step reads them)."""

from __future__ import annotations

FINAL_METRICS = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
# How precisely those are known: the standard errors of the mean losses over the evaluated examples
# and the numbers of examples (an accuracy's standard error is sqrt(p (1 - p) / n)).
SAMPLING_COLUMNS = ["train_loss_se", "test_loss_se", "n_train_eval", "n_test_eval"]
# history.csv: one row per measured epoch.
HISTORY_COLUMNS = ["epoch", *FINAL_METRICS, *SAMPLING_COLUMNS, "seed", "data_seed"]
# Runs trained to fit also record the optimizer steps so far and the accuracy on the examples
# whose label was kept (clean) and redrawn to another class (corrupted); a group with no example
# is an empty cell. The last row is where training stopped.
FIT_HISTORY_COLUMNS = [
    "epoch", "step", *FINAL_METRICS, *SAMPLING_COLUMNS, "clean_train_accuracy", "corrupted_train_accuracy", "seed", "data_seed",
]
# Runs trained to a target train loss (the zoo) record the steps so far and whether this epoch's
# train loss reached the target (training stops at the first that does: the last row says whether the run did);
# their test cells are empty but in the last row (TrainConfig.test_each_epoch).
REACHED_TARGET = "reached_target"
TARGET_HISTORY_COLUMNS = ["epoch", "step", *FINAL_METRICS, *SAMPLING_COLUMNS, REACHED_TARGET, "seed", "data_seed"]
# Jiang et al. 2019's optimisation measure: the first measured step count at which train loss <= 0.1.
STEPS_TO_LOSS_VALUE = 0.1
STEPS_TO_LOSS = "steps_to_loss_0.1"
# The epochs a run actually trained: `epochs` is the most it may train, a run trained to fit stops earlier.
EPOCHS_TRAINED = "epochs_trained"
# results/metrics/{experiment}.csv: one row per run and seed; n_train_eval / n_test_eval are the
# numbers of images the final metrics were measured on.
METRICS_COLUMNS = [
    "experiment", "run", "seed", "data_seed", "arch", "width", "n_train", "lr", "batch_size", "epochs", EPOCHS_TRAINED,
    "precision", "n_params", *FINAL_METRICS, *SAMPLING_COLUMNS,
]
