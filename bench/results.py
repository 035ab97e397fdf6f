"""Benchmark results: one object per measurement, written to bench/results.json and docs/benchmarks.md.

A measurement repeated n times keeps its samples; its value is the median, its ratio the median of the
paired ratios (run i of the config against run i of its baseline, interleaved), and `met` says whether the
whole spread of the ratio is on the right side of its target. Parts of `make bench` add rows here.
"""
from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from bench.stats import Target, median, paired_ratios, spread

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
    runs: int = 1
    ratio_spread: tuple[float, float] | None = None
    target: str = ""
    met: bool | None = None
    samples: dict = field(default_factory=dict)


def measure(name: str, value: float, unit: str, baseline: float, note: str = "", target: Target | None = None
            ) -> Measurement:
    """One run (or a stated baseline, e.g. a size target)."""
    ratio = value / baseline
    return Measurement(name, round(value, 3), unit, round(baseline, 3), round(ratio, 3), note,
                       target=str(target or ""), met=None if target is None else target.met(ratio, ratio))


def measure_runs(name: str, values: list[float], unit: str, baselines: list[float], note: str = "",
                 target: Target | None = None) -> Measurement:
    ratios = paired_ratios(values, baselines)
    lo, hi = spread(ratios)
    return Measurement(name, round(median(values), 3), unit, round(median(baselines), 3), round(median(ratios), 3),
                       note, runs=len(values), ratio_spread=(round(lo, 3), round(hi, 3)), target=str(target or ""),
                       met=None if target is None else target.met(lo, hi),
                       samples={"values": [round(v, 3) for v in values], "baselines": [round(b, 3) for b in baselines]})


def _cell(m: Measurement) -> tuple[str, str]:
    spread_cell = "" if m.ratio_spread is None else f"{m.ratio_spread[0]}–{m.ratio_spread[1]}"
    met = {None: "", True: "yes", False: "**no**"}[m.met]
    return spread_cell, met


def write(measurements: list[Measurement], command: str, notes: str = "", machine: dict | None = None,
          plots: list[Path] = ()) -> None:
    RESULTS.write_text(json.dumps({"machine": machine or {}, "rows": [asdict(m) for m in measurements]}, indent=2)
                       + "\n")
    rows = []
    for m in measurements:
        spread_cell, met = _cell(m)
        rows.append(f"| {m.name} | {m.value} {m.unit} | {m.baseline} {m.unit} | {m.ratio} | {spread_cell} | {m.runs} "
                    f"| {m.target} | {met} | {m.note} |")
    figures = "\n".join(f"![{p.stem}]({p.relative_to(REPORT.parent).as_posix()})" for p in plots)
    state = machine or {}
    REPORT.write_text(f"""# Benchmarks

Command: `{command}` — machine: {platform.machine()}, {state.get('cores')} cores ({state.get('cpu', 'CPU not recorded')}), {platform.platform()} — load
average before the run {state.get('loadavg')}, busy share {state.get('busy_share')} — date: {date.today().isoformat()}.
Value and baseline are medians of the runs; the ratio is the median of the paired ratios (run i of the config
against run i of its baseline, interleaved), its spread their min–max. A target is met only when the whole
spread is on its side.

| Measurement | Value | Baseline | Ratio | Ratio spread | Runs | Target | Met | Note |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{figures}
{notes}""")


def load_rows(path: Path = RESULTS) -> list[dict]:
    """The rows of a results file (also the older list-only format)."""
    data = json.loads(path.read_text())
    return data["rows"] if isinstance(data, dict) else data
