"""Neural-network building blocks with PyTorch's API: ``from lemmata import nn``.

Modules own Parameters and buffers (:mod:`.module`), layers call :mod:`.functional` (imported as
``F``), which calls the ops; :mod:`.init` holds the initialisers and :mod:`.loss` the losses.
"""
from . import functional, init, utils
from .activation import (
    ELU, GELU, SELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid,
    SiLU, Softmax, Softmin, Softplus, Softsign, Tanh,
)
from .container import Flatten, ModuleDict, ModuleList, ParameterList, Sequential, Unflatten
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .linear import Bilinear, Embedding, Identity, Linear
from .loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
    SmoothL1Loss,
)
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm
from .parameter import Buffer, Parameter
from .pool import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
    AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d,
)

__all__ = [
    "Module", "Parameter", "Buffer", "functional", "init", "utils",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "Flatten", "Unflatten",
    "Identity", "Linear", "Bilinear", "Embedding",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
    "ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "GELU", "ELU", "SELU", "SiLU",
    "Mish", "Hardtanh", "LogSigmoid", "Softsign", "Softmax", "Softmin", "LogSoftmax",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss",
    "BCEWithLogitsLoss", "KLDivLoss",
]
