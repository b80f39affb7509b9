"""A toy measure kind, registered from the test folder alone: the parameters' Euclidean norm."""

import math

from genlab.measures.rows import row

KIND = "measure"
NAME = "param_norm"
KEYS = ()
SCHEMA = None
PER_CHECKPOINT = True


def check(section, config):
    pass


def names(section):
    return [NAME]


def is_sharpness(measure):
    return False


def cost(section, n_train, n_test, grad_s, eval_s):
    return 0.0


def run(model, data, context):
    value = math.sqrt(sum(float((p.detach() ** 2).sum()) for p in model.parameters()))
    return [row(NAME, value, len(data[1]))]
