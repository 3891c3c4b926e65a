"""The architectures of the seed documents, written as their listings, and the classics.

* ``NiN`` (seed ryu22.q7), ``model1``/``model2``/``model3`` (ryu22.q2),
* ``Net`` / ``VGGNet`` (ryu24.q6, the bias-free VGG-style ReLU CNN),
* ``myLayer``, ``MyConvLayer``, ``STMConv`` / ``STMConvLayer`` (hw6.p1, hw6.p4),
* ``TwoLayerCNN`` (bouman.q4),
* ``LeNet5``, ``MLP``, ``BasicBlock`` / ``ResNet`` / ``resnet18``.
"""
from .bouman import TwoLayerCNN
from .commute import model1, model2, model3
from .lenet import LeNet5
from .mlp import MLP
from .nin import NiN
from .resnet import BasicBlock, ResNet, resnet18
from .stm import MyConvLayer, STMConv, STMConvLayer, myLayer
from .vgg import Net, VGGNet

__all__ = ["NiN", "model1", "model2", "model3", "Net", "VGGNet", "myLayer", "MyConvLayer",
           "STMConv", "STMConvLayer", "TwoLayerCNN", "LeNet5", "MLP", "BasicBlock", "ResNet",
           "resnet18", "count_parameters"]


def count_parameters(model, trainable_only: bool = True) -> int:
    """Σ numel over the model's parameters (each shared parameter once; only those with
    requires_grad unless ``trainable_only=False``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
