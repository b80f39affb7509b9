"""genlab: reproducible experiments on generalization in deep networks."""

__version__ = "0.1.0"
