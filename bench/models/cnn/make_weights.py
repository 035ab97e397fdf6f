"""Writes the CNN bench model's weights: PyTorch's default initialisation under a fixed seed (no download)."""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from model import ResNet18Class


def main(path: pathlib.Path) -> None:
    torch.manual_seed(0)
    torch.save(ResNet18Class().eval().state_dict(), path)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
