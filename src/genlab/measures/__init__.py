"""Measures evaluated on trained checkpoints (interpolation, sensitivity, ...)."""
