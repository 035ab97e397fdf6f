"""Bench model: a ResNet-18-class CNN (BasicBlocks [2, 2, 2, 2], 64→512 channels, about 11.7 M parameters),
defined here because PyPI's torchvision does not import beside the CPU torch wheel on our machines.

A request carries a tiny 3×4×4 image (48 numbers, so JSON parsing stays negligible); the model upsamples it
to 3×64×64 and runs the network, so the work per request is the CNN's, about 0.15 GFLOP: compute-bound.
"""
import torch
from torch import nn
from torch.nn import functional as F

IN_FEATURES = 48
SIDE = 64
OUT_FEATURES = 10


class ResNet18Class(nn.Module):
    """One class only: TorchServe's handler loads a model file that defines exactly one class, so the
    residual blocks are ModuleDicts and their wiring is in forward()."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.blocks = nn.ModuleList()
        cin = 64
        for cout, first_stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            for stride in (first_stride, 1):
                block = nn.ModuleDict({
                    "conv1": nn.Conv2d(cin, cout, 3, stride, 1, bias=False), "bn1": nn.BatchNorm2d(cout),
                    "conv2": nn.Conv2d(cout, cout, 3, 1, 1, bias=False), "bn2": nn.BatchNorm2d(cout)})
                if stride != 1 or cin != cout:
                    block["down"] = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                self.blocks.append(block)
                cin = cout
        self.head = nn.Linear(512, OUT_FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x.reshape(-1, 3, 4, 4), size=(SIDE, SIDE), mode="nearest")
        x = self.stem(x)
        for b in self.blocks:
            out = F.relu(b["bn1"](b["conv1"](x)))
            out = b["bn2"](b["conv2"](out))
            x = F.relu(out + (b["down"](x) if "down" in b else x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
