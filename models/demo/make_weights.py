"""Writes model.pt for the demo model deterministically (no download, no randomness).

Every weight is a fixed function of its position, so the file and the model's answers are the
same on every machine: `python models/demo/make_weights.py` rewrites model.pt.
"""
import math
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from model import DemoMLP


def deterministic_state_dict() -> dict:
    """Weights w[i] = sin(i + 1) / 2 over each tensor's flat index, biases likewise with cos."""
    state = {}
    for key, tensor in DemoMLP().state_dict().items():
        fn = math.sin if key.endswith("weight") else math.cos
        values = [fn(i + 1) / 2 for i in range(tensor.numel())]
        state[key] = torch.tensor(values, dtype=torch.float32).reshape(tensor.shape)
    return state


def main(path: pathlib.Path) -> None:
    torch.save(deterministic_state_dict(), path)


if __name__ == "__main__":
    main(pathlib.Path(__file__).resolve().parent / "model.pt")
