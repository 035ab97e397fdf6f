"""GPU utilisation and memory while a load runs (nvidia-smi, sampled every 0.5 s), for `make bench --gpu`."""
from __future__ import annotations

import shutil
import subprocess
import threading

from bench.stats import median

QUERY = ["--query-gpu=utilization.gpu,memory.used,memory.total", "--format=csv,noheader,nounits"]


def parse(text: str) -> list[tuple[float, float, float]]:
    """nvidia-smi CSV lines (one per GPU) → (utilisation %, memory used MiB, memory total MiB)."""
    rows = []
    for line in text.strip().splitlines():
        util, used, total = (float(v) for v in line.split(","))
        rows.append((util, used, total))
    return rows


class GpuSampler:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.samples: list[list[tuple[float, float, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        smi = shutil.which("nvidia-smi")
        while smi and not self._stop.wait(0.5):
            out = subprocess.run([smi, *QUERY], capture_output=True, text=True, timeout=10)
            if out.returncode == 0:
                self.samples.append(parse(out.stdout))

    def __enter__(self) -> GpuSampler:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.enabled:
            self._thread.join(timeout=15)

    def summary(self) -> dict:
        if not self.enabled:
            return {}
        assert self.samples, "nvidia-smi gave no sample while the load ran"
        util = [sum(g[0] for g in s) / len(s) for s in self.samples]
        used = [max(g[1] / g[2] for g in s) for s in self.samples]
        return {"gpu_util_pct": round(median(util), 1), "gpu_mem_used_share": round(max(used), 3)}
