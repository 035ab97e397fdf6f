"""Demo trainer: fits the demo MLP (model.py) on data/train.csv, writes a state_dict checkpoint and logs.

The parameters are the usual ones of a Dockerized training script; torchserve-deploy renders them
from the stack's `trainingParams` (schema in torchserve-model.yaml) as `--key value` arguments.
Deterministic: fixed seed, one thread, full-batch order from the file, so the same data and
parameters give the same checkpoint.
"""
import argparse
import csv
import json
import os
import pathlib
import sys

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from model import DemoMLP


def load(path: str) -> tuple[torch.Tensor, torch.Tensor]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = torch.tensor([[float(r[k]) for k in ("f1", "f2", "f3", "f4")] for r in rows])
    y = torch.tensor([int(r["label"]) for r in rows])
    return x, y


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--num_worker", type=int, default=0)
    p.add_argument("--log_frequency", type=int, default=10)
    p.add_argument("--train_data", default="/data/train.csv")
    p.add_argument("--val_data", default="/data/val.csv")
    p.add_argument("--pretrained", action="store_true", help="start from the shipped model.pt")
    p.add_argument("--output_dir", default=os.environ.get("TRAIN_OUTPUT_DIR", "/outputs"))
    args = p.parse_args(argv)

    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = pathlib.Path(args.output_dir)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    model = DemoMLP()
    if args.pretrained:
        model.load_state_dict(torch.load(pathlib.Path(__file__).with_name("model.pt"), weights_only=True))
    x, y = load(args.train_data)
    vx, vy = load(args.val_data)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    with open(out / "logs" / "metrics.jsonl", "w") as log:
        for epoch in range(args.epochs):
            for start in range(0, len(x), args.bs):
                opt.zero_grad()
                loss = loss_fn(model(x[start:start + args.bs]), y[start:start + args.bs])
                loss.backward()
                opt.step()
                step += 1
                if step % args.log_frequency == 0:
                    log.write(json.dumps({"step": step, "epoch": epoch, "loss": round(loss.item(), 6)}) + "\n")
            with torch.no_grad():
                accuracy = (model(vx).argmax(dim=1) == vy).float().mean().item()
            log.write(json.dumps({"epoch": epoch, "val_accuracy": round(accuracy, 4)}) + "\n")
            print(f"epoch {epoch}: val_accuracy={accuracy:.4f}", flush=True)
    torch.save(model.state_dict(), out / "model.pt")
    print(f"checkpoint: {out / 'model.pt'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
