"""Writes data/train.csv and data/val.csv for the demo trainer, deterministically (no download).

Each row: four features x in [-1, 1) from a fixed-seed generator, then the label argmax(W @ x) for a
fixed W, so the task is learnable by the demo MLP. `python models/demo/make_data.py` rewrites both files.
"""
import csv
import pathlib
import random

W = ((1.0, -0.5, 0.25, 0.0), (-0.75, 1.0, 0.0, 0.5), (0.0, 0.25, -1.0, 1.0))


def rows(count: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        x = [round(rng.uniform(-1, 1), 4) for _ in range(4)]
        scores = [sum(w * v for w, v in zip(row, x, strict=False)) for row in W]
        out.append(x + [scores.index(max(scores))])
    return out


def main(directory: pathlib.Path) -> None:
    directory.mkdir(exist_ok=True)
    for name, count, seed in (("train.csv", 512, 1), ("val.csv", 128, 2)):
        with open(directory / name, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["f1", "f2", "f3", "f4", "label"])
            writer.writerows(rows(count, seed))


if __name__ == "__main__":
    main(pathlib.Path(__file__).resolve().parent / "data")
