"""Layers with torch.nn's names, defaults and initialisation."""
from .module import Module, Parameter, Sequential
from .layers import (AvgPool2d, Conv2d, Dropout, Flatten, LayerNorm, Linear, MaxPool2d, ReLU,
                     Sigmoid, Tanh)
from .blocks import MultiheadSelfAttention, ResidualBlock
from . import init

__all__ = ["Module", "Parameter", "Sequential", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d",
           "ReLU", "Tanh", "Sigmoid", "Flatten", "LayerNorm", "Dropout",
           "MultiheadSelfAttention", "ResidualBlock", "init"]
