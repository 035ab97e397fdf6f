"""Demo model: a tiny two-layer MLP (4 features in, 3 scores out).

Shipped so that `pulumi up` of the dev stack serves something with no user files.
"""
import torch
from torch import nn

IN_FEATURES = 4
HIDDEN = 8
OUT_FEATURES = 3


class DemoMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(IN_FEATURES, HIDDEN)
        self.out = nn.Linear(HIDDEN, OUT_FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x)))
