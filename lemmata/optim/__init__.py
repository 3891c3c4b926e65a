"""Optimisers and learning-rate schedules with PyTorch's API: ``from lemmata import optim``.

``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` and ``Adagrad`` replay PyTorch's update rules operation
by operation (the same iterates, to the last bit in float32); ``SignSGD`` (signSGD / signum),
``SGD(decoupled_weight_decay=True)`` and ``Adam(bias_correction=False)`` are lemmata's additions
for the claims of seeds ryu22.q1 and ryu24.q7.  ``lr_scheduler`` holds the schedules.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD
from .signsgd import SignSGD

__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "SignSGD",
           "lr_scheduler"]
