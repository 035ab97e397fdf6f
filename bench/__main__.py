"""`make bench`: run every benchmark part and write bench/results.json and docs/benchmarks.md (with plots).

usage: python -m bench [--gpu]
  --gpu  the same rows on a GPU host, with the CUDA image and GPU utilisation (fails cleanly without a GPU)
Refuses to start while another process keeps the CPU busy (BENCH_MAX_BUSY, default 25 % of all cores).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from bench import images, machine, plots, redeploy, serving
from bench.configs import p99_bound_ms
from bench.results import REPORT, write
from bench.tune_search import TRIAL_FIELDS, Result, Trial

NOTES = """
## What the generated configuration changes, and why

Stock = upstream's `docker/config.properties` (netty 32 threads, queue 1000, every model with workers =
cores and batch 1, metrics in `log` mode) with token auth off, as upstream's entrypoint runs it.
Generated = what `render_config_properties` writes for the dev stack. The rows "generated but …" revert one
choice to its stock value; their ratio against the generated config is that choice's measured effect.

- **Repeats.** Each serving row is the median of interleaved runs (stock, generated, stock, generated, …);
  one run is not a result (two single runs of the same rows differed by 4× here).
- **One worker per model** (`workersPerModel: 1`; stock: one per core). Measured here, reverting to two
  workers on the 2-core machine served 12 % more for the tiny demo model (one run), with a lower p99: so on CPU hosts
  with one small model, `workersPerModel: 2` is worth setting. The default stays 1 because it is the safe
  choice everywhere else: on a GPU host each worker holds its own copy of the model in GPU memory (one worker
  per GPU is TorchServe's own GPU default), and a stack with several models on a small host multiplies
  workers by models. Batching (below) is what carries the gain over stock.
- **Dynamic batching 4 / 5 ms** (`batchSize`, `maxBatchDelayMs`; stock 1 / 100 ms). One Python call serves
  up to 4 requests; the 5 ms wait is small beside a request's own latency, and on a GPU batching is where
  the throughput comes from.
- **`metrics_mode=prometheus`** (stock `log`): metrics are served on 8082 instead of written as log lines
  for every request, and `/metrics` is not empty.
- **Token auth on** (stock: off in upstream's image): the row "token auth off" shows what security costs.
- Unchanged from TorchServe's defaults: netty threads, JVM flags, async logging — measured not worth a
  default here or not safe on every host.
- **Torch threads per worker and the CPU launcher** stay at TorchServe's defaults in the generated config
  (torch's one thread per core in every worker; no pinning): TorchServe itself sets neither per worker. With
  several workers on a CPU that oversubscribes the cores, so `make tune` sweeps them: each worker count
  with and without its share of the cores as `torchThreads`, then the CPU launcher (`cpuLauncher`).
"""




def require_gpu() -> str:
    """The GPUs nvidia-smi lists, or SystemExit with what is missing."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise SystemExit("make bench --gpu needs an NVIDIA GPU host: nvidia-smi is not installed here (install the "
                         "NVIDIA driver and the NVIDIA Container Toolkit, see shared/reference/ec2-gpu.md), or run "
                         "make bench without --gpu")
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
    if listed.returncode != 0 or "GPU" not in listed.stdout:
        raise SystemExit(f"make bench --gpu: nvidia-smi finds no GPU ({(listed.stderr or listed.stdout).strip()[:200]})")
    return listed.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="run on a GPU host with the CUDA image")
    args = parser.parse_args(argv)
    try:
        if args.gpu:
            print(require_gpu())
            serving.use_gpu()
        state = machine.require_idle()
    except machine.Busy as busy:
        print(busy, file=sys.stderr)
        return 3
    except SystemExit as missing:
        print(missing, file=sys.stderr)
        return 2
    print(f"bench: {state['cores']} cores, load {state['loadavg']}, busy {state['busy_share']:.0%}", flush=True)
    image_rows, layers = images.run()
    serving_rows, raw = serving.run()
    folder = REPORT.parent / "bench"
    pictures = plots.serving({m: runs for m, runs in raw.items() if m not in ("demo-overhead", "tuning")}, folder)
    for name, tuning in raw["tuning"].items():
        results = [Result(Trial(**{k: t[k] for k in TRIAL_FIELDS if k in t}), t["rps"],
                          t["p50_ms"], t["p99_ms"]) for t in tuning["trials"]]
        winner = next(r for r in results if vars(r.trial) == tuning["recommended"])
        pictures.append(plots.sweep(name, results, winner, p99_bound_ms(), folder / f"tune-{name}.png"))
    pictures.append(plots.startup(serving.startup_phases(raw), REPORT.parent / "bench"))
    measurements = image_rows + redeploy.run() + serving_rows
    write(measurements, "make bench" + (" --gpu" if args.gpu else ""), layers + NOTES, state, pictures)
    for m in measurements:
        print(f"{m.name}: {m.value} {m.unit} (baseline {m.baseline} {m.unit}, ratio {m.ratio}, spread {m.ratio_spread}, "
              f"target {m.target or '-'}, met {m.met})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
