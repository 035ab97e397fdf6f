"""The tuner's search, pure: which serving configurations to try within a budget, and which one wins.

A coordinate search from the stack's current config: sweep one axis (workers, then batch size, then max
batch delay), keep the best value, go on to the next axis. "Best" is the highest throughput among the
configs whose p99 stays within the bound; when none does, the lowest p99 (the recommendation then says
the bound was not met). Each trial is one fresh container under the same load, so a sweep of n values
costs n trials; the budget is checked before each trial against the longest trial so far.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Trial:
    workers: int
    batch_size: int
    max_batch_delay_ms: int


@dataclass(frozen=True)
class Result:
    trial: Trial
    rps: float
    p50_ms: float
    p99_ms: float

    def row(self) -> dict:
        return {**asdict(self.trial), "rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2)}


def axes(cores: int) -> dict[str, tuple[int, ...]]:
    workers = tuple(sorted({1, 2, max(1, cores // 2), cores}))
    return {"workers": workers, "batch_size": (1, 2, 4, 8, 16), "max_batch_delay_ms": (1, 2, 5, 10, 20)}


def best(results: list[Result], p99_bound_ms: float) -> tuple[Result, bool]:
    """The winner and whether it meets the p99 bound."""
    within = [r for r in results if r.p99_ms <= p99_bound_ms]
    if within:
        return max(within, key=lambda r: (r.rps, -r.p99_ms)), True
    return min(results, key=lambda r: r.p99_ms), False


def search(measure: Callable[[Trial], Result], start: Trial, grid: dict[str, tuple[int, ...]], p99_bound_ms: float,
           budget_s: float, clock: Callable[[], float] = time.monotonic) -> tuple[list[Result], Result, bool, bool]:
    """(every result in trial order, the winner, whether it meets the bound, whether the budget cut the sweep)."""
    deadline = clock() + budget_s
    results: dict[Trial, Result] = {}
    longest = 0.0
    cut = False

    def run(trial: Trial) -> None:
        nonlocal longest
        if trial in results:
            return
        began = clock()
        results[trial] = measure(trial)
        longest = max(longest, clock() - began)

    run(start)
    current = start
    for axis, values in grid.items():
        for value in values:
            if clock() + longest > deadline:
                cut = True
                break
            run(replace(current, **{axis: value}))
        current = best(list(results.values()), p99_bound_ms)[0].trial
        if cut:
            break
    winner, met = best(list(results.values()), p99_bound_ms)
    return list(results.values()), winner, met, cut
