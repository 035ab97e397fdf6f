"""What the model itself can do, in this process on the same cores: the limit served throughput is measured
against, and the in-process latency the per-request overhead is measured from."""
from __future__ import annotations

import importlib.util
import inspect
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn


def load_model(model_file: Path, weights: Path) -> nn.Module:
    """As TorchServe's BaseHandler does: the model file defines exactly one class; load its state dict."""
    spec = importlib.util.spec_from_file_location(f"bench_model_{model_file.parent.name}", model_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
    assert len(classes) == 1, f"{model_file}: TorchServe needs exactly one class, found {[c.__name__ for c in classes]}"
    model = classes[0]()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def throughput(model: nn.Module, features: int, batch: int, seconds: float = 5.0) -> float:
    """Items per second of batched forward passes (random inputs, inference mode), after a warm-up."""
    x = torch.rand(batch, features)
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            model(x)
            done += batch
        return done / (time.perf_counter() - started)


def latency_ms(model: nn.Module, row: list[float], repeats: int = 2000) -> float:
    """Median milliseconds of one single-row forward pass (tensor creation included, as a handler does it)."""
    times = []
    with torch.inference_mode():
        for _ in range(50):
            model(torch.tensor([row]))
        for _ in range(repeats):
            started = time.perf_counter()
            model(torch.tensor([row]))
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
