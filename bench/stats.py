"""Repeated measurements: median and spread, and whether a ratio meets its target over the whole spread."""
from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """value/baseline must be >= (higher is better) or <= (lower is better) `ratio`."""
    op: str
    ratio: float

    def __str__(self) -> str:
        return f"{self.op} {self.ratio}"

    def met(self, lo: float, hi: float) -> bool:
        # A ratio counts only when its whole spread is on the right side of the target.
        return lo >= self.ratio if self.op == ">=" else hi <= self.ratio


AT_LEAST = lambda r: Target(">=", r)  # noqa: E731
AT_MOST = lambda r: Target("<=", r)  # noqa: E731


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float]) -> tuple[float, float]:
    return float(min(values)), float(max(values))


def paired_ratios(values: list[float], baselines: list[float]) -> list[float]:
    """Run i of the config against run i of its baseline (they ran back to back, interleaved)."""
    assert len(values) == len(baselines) and values, (values, baselines)
    return [v / b for v, b in zip(values, baselines, strict=True)]
