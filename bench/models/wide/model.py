"""Bench model: a wider MLP (64 → 1024 → 1024 → 10), about 4.5 MB of float32 weights."""
import torch
from torch import nn

IN_FEATURES = 64
HIDDEN = 1024
OUT_FEATURES = 10


class WideMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                                 nn.Linear(HIDDEN, OUT_FEATURES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
