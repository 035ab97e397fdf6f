"""The fleet's autoscaling target from the per-task capacity `make bench` measured (pure; deterministic:
it reads the committed bench/results.json).

target (requests per task per minute) = capacity (req/s of one task, the generated config's median)
                                        × 60 × HEADROOM
HEADROOM leaves room for the 2–4× run-to-run spread measured on shared machines and for the minutes a
scale-out takes (a new GPU instance boots and pulls the image before its task serves).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BENCH_ROW = "demo: requests/s, generated config vs stock"
HEADROOM = 0.5


@dataclass(frozen=True)
class Capacity:
    requests_per_second: float
    """One task's measured capacity (the bench row's value)."""
    target_per_minute: int
    source: str


def derived_target(root: Path) -> Capacity:
    data = json.loads((root / "bench" / "results.json").read_text())
    rows = data["rows"] if isinstance(data, dict) else data  # {"machine", "rows"}; older files: the rows alone
    found = [r for r in rows if r.get("name") == BENCH_ROW]
    if not found:
        raise ValueError(f"bench/results.json has no row {BENCH_ROW!r}: run make bench")
    rps = float(found[0]["value"])
    return Capacity(rps, int(rps * 60 * HEADROOM), f"bench/results.json: {BENCH_ROW}")
