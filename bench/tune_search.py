"""The tuner's search, pure: which serving configurations to try within a budget, and which one wins.

A coordinate search from the stack's current config: sweep one axis (workers, then torch threads per worker,
then batch size, then max batch delay, then TorchServe's CPU launcher), keep the best value, go on to the
next axis. Workers and threads share the cores, so the workers axis moves them together: each worker count
is tried with torch's default threads (one per core, which oversubscribes the cores as soon as there are two
workers) and with its share of the cores; a search that moved workers alone would never leave one worker.
"Best" is the highest throughput among the configs whose p99 stays within the bound; when none does, the
lowest p99 (the recommendation then says the bound was not met). Each trial is one fresh container under the
same load, so a sweep of n values costs n trials; the budget is checked before each trial against the
longest trial so far.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from torchserve_deploy.serve.config_properties import MAX_TORCH_THREADS, MAX_WORKERS_PER_MODEL


@dataclass(frozen=True)
class Trial:
    workers: int
    batch_size: int
    max_batch_delay_ms: int
    torch_threads: int = 0
    """torch.set_num_threads in each worker; 0 is torch's default (one per core)."""
    cpu_launcher: bool = False
    """TorchServe's CPU launcher (workers pinned to their own share of the cores)."""

    def label(self) -> str:
        return (f"w{self.workers} b{self.batch_size} d{self.max_batch_delay_ms} t{self.torch_threads}"
                + (" L" if self.cpu_launcher else ""))


TRIAL_FIELDS = tuple(f.name for f in fields(Trial))


@dataclass(frozen=True)
class Result:
    trial: Trial
    rps: float
    p50_ms: float
    p99_ms: float

    def row(self) -> dict:
        return {**asdict(self.trial), "rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2)}


Move = dict[str, int]  # the Trial fields one step of an axis sets


def axes(cores: int, gpu: bool = False) -> dict[str, tuple[Move, ...]]:
    """The moves tried on each axis, in sweep order, for a machine with `cores` CPUs. A GPU server never takes
    the CPU launcher (it pins CPU cores for CPU inference; the stack refuses it with GPUs)."""
    cores = max(1, cores)  # the moves stay within what a stack accepts (workers 1-64, torchThreads 0-256)
    workers = sorted({min(w, MAX_WORKERS_PER_MODEL) for w in (1, 2, max(1, cores // 2), cores)})
    threads = sorted({0} | {t for t in (1, 2, 4, max(1, cores // 2), cores) if t <= min(cores, MAX_TORCH_THREADS)})

    def one(field: str, values) -> tuple[Move, ...]:
        return tuple({field: value} for value in values)

    return {"workers": tuple({"workers": w, "torch_threads": t} for w in workers
                             for t in (0, min(MAX_TORCH_THREADS, max(1, cores // w)))),
            "torch_threads": one("torch_threads", threads), "batch_size": one("batch_size", (1, 2, 4, 8, 16)),
            "max_batch_delay_ms": one("max_batch_delay_ms", (1, 2, 5, 10, 20)),
            **({} if gpu else {"cpu_launcher": one("cpu_launcher", (False, True))})}


def best(results: list[Result], p99_bound_ms: float) -> tuple[Result, bool]:
    """The winner and whether it meets the p99 bound."""
    within = [r for r in results if r.p99_ms <= p99_bound_ms]
    if within:
        return max(within, key=lambda r: (r.rps, -r.p99_ms)), True
    return min(results, key=lambda r: r.p99_ms), False


def search(measure: Callable[[Trial], Result], start: Trial, grid: dict[str, tuple[Move, ...]], p99_bound_ms: float,
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
    for moves in grid.values():
        for move in moves:
            if clock() + longest > deadline:
                cut = True
                break
            run(replace(current, **move))
        current = best(list(results.values()), p99_bound_ms)[0].trial
        if cut:
            break
    winner, met = best(list(results.values()), p99_bound_ms)
    return list(results.values()), winner, met, cut
