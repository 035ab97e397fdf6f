"""Benchmark results: one object per measurement (name, value, unit, baseline, ratio), written to
bench/results.json and docs/benchmarks.md. Parts of `make bench` add their measurements here."""
from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REPORT = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    unit: str
    baseline: float
    ratio: float
    note: str = ""


def measure(name: str, value: float, unit: str, baseline: float, note: str = "") -> Measurement:
    return Measurement(name, round(value, 3), unit, round(baseline, 3), round(value / baseline, 3), note)


def machine() -> str:
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    mem = [line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")][0]
    return f"{platform.machine()}, {cpus} cores, {int(mem.split()[1]) // 1024 // 1024 + 1} GiB, {platform.platform()}"


def write(measurements: list[Measurement], command: str, notes: str = "") -> None:
    RESULTS.write_text(json.dumps([asdict(m) for m in measurements], indent=2) + "\n")
    rows = "\n".join(f"| {m.name} | {m.value} {m.unit} | {m.baseline} {m.unit} | {m.ratio} | {m.note} |"
                     for m in measurements)
    REPORT.write_text(f"""# Benchmarks

Command: `{command}` — machine: {machine()} — date: {date.today().isoformat()}.
Every ratio is value / baseline, both measured (or, for targets, stated) in the same run.

| Measurement | Value | Baseline | Ratio | Note |
|---|---|---|---|---|
{rows}
{notes}""")
