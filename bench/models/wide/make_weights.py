"""Writes the wide bench model's weights deterministically: w[i] = sin(i + 1) / sqrt(fan_in)."""
import math
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from model import WideMLP


def main(path: pathlib.Path) -> None:
    state = {}
    for key, tensor in WideMLP().state_dict().items():
        fan_in = tensor.shape[-1] if tensor.dim() > 1 else tensor.shape[0]
        flat = torch.arange(1, tensor.numel() + 1, dtype=torch.float64)
        state[key] = (torch.sin(flat) / math.sqrt(fan_in)).to(torch.float32).reshape(tensor.shape)
    torch.save(state, path)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
