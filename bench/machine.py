"""The machine a benchmark runs on: core count and load, and a refusal to measure while something else is
busy (a second heavy process would make every ratio a measure of it rather than of the configs)."""
from __future__ import annotations

import os
import time
from pathlib import Path

# Refuse when other processes keep more than this share of all cores busy (BENCH_MAX_BUSY overrides).
MAX_BUSY = float(os.environ.get("BENCH_MAX_BUSY", "0.25"))


class Busy(Exception):
    pass


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_share(seconds: float = 2.0) -> float:
    """Share of all cores busy over `seconds` (0 = idle machine, 1 = every core busy)."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(total1 - total0, 1)


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name (/proc/cpuinfo), so results from two machines are not compared as one."""
    text = Path("/proc/cpuinfo").read_text(errors="replace") if cpuinfo is None else cpuinfo
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    return names[0] if names else "unknown"


def snapshot() -> dict:
    load1, load5, load15 = os.getloadavg()
    return {"cores": os.cpu_count(), "cpu": cpu_model(), "loadavg": [round(load1, 2), round(load5, 2), round(load15, 2)],
            "busy_share": round(busy_share(), 3)}


def require_idle() -> dict:
    """The machine's snapshot, or Busy with what to do when another process is using the CPU."""
    state = snapshot()
    if state["busy_share"] > MAX_BUSY:
        raise Busy(f"make bench: {state['busy_share']:.0%} of the {state['cores']} cores are busy before the bench "
                   f"starts (load average {state['loadavg']}); the limit is {MAX_BUSY:.0%}. Stop the other heavy "
                   f"process (see top), or set BENCH_MAX_BUSY to accept a noisier measurement, then run again.")
    return state
