"""`make bench`, serving part: the module's generated config.properties against TorchServe's stock Docker
config, same image, same machine, same model, interleaved (stock, generated, stock, generated, …) and
repeated (BENCH_REPEATS, default 3); plus start to READY (polled), the compute-bound model against what the
model does in-process on the same cores, and the per-request overhead of the tiny demo model.

Each run is a fresh container of the dev stack's declared spec (test overrides: memlock, the bench's model
store, the config under test, the health endpoint's model). The stock config is upstream's
docker/config.properties with the model loaded at startup and token auth off, as upstream's entrypoint runs
it (`--disable-token-auth`); the generated one is this module's, token auth on.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path

from torchserve_deploy.model.archive import ModelArchiveArgs, archive_command

from bench import limits
from bench.configs import (
    ABLATIONS,
    LATENCY,
    STOCK,
    WORK,
    BenchModel,
    generated_config,
    models,
    p99_bound_ms,
    static_trial,
    trial_serving,
)
from bench.gpu import GpuSampler
from bench.results import Measurement, measure, measure_runs
from bench.startup import breakdown, wait_ready
from bench.stats import AT_LEAST, AT_MOST, median
from bench.tune_search import Result, Trial, axes, search
from bench.wrk import run_wrk
from tests.engine import Engine, build_declared_image, ensure_base_image, exec_json, realize_container
from tests.mocks import ROOT, evaluate_program, named, only

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
TUNE_BUDGET_S = float(os.environ.get("BENCH_TUNE_BUDGET_S", "330"))  # per bench model: about 15 trials of ~22 s
CONCURRENCY, SECONDS = 16, 15
# Load before each measured run: TorchServe's JVM is still compiling its hot paths for the first half minute of
# load (its compiler threads took about 14 % of a core during a run that followed a 5 s warm-up, about 2 % after
# 20 s), so measured runs start from the steady state a long-running server is in. Tuner trials rank
# configurations against each other and keep a short warm-up.
WARMUP_S = int(os.environ.get("BENCH_WARMUP_S", "20"))
TRIAL_WARMUP_S = 5
OVERHEAD_TARGET_MS, READY_TARGET_S, LIMIT_TARGET = 2.0, 5.0, 0.85


def serve_and_load(client, inputs: dict, image_id: str, store: Path, model: str, config: str, body: dict,
                   connections: int = CONCURRENCY, seconds: int = SECONDS, torch_threads: str = "",
                   warmup_s: int = WARMUP_S) -> dict:
    """Serve `config` (and TS_TORCH_THREADS `torch_threads`, e.g. "demo=2") in the stack's container spec, put
    wrk's load on `model`, and return wrk's figures with start-to-READY and its phases."""
    spec = copy.deepcopy(inputs)
    # The stack's mounts (read-only root filesystem, so files come in by bind mounts), pointed at the bench's
    # model store and at the config under test.
    config_file = WORK / "config.properties"
    config_file.parent.mkdir(parents=True, exist_ok=True)  # `make tune` in a fresh clone reaches here first
    config_file.write_text(config)
    sources = {"/home/model-server/model-store": str(store), "/home/model-server/config.properties": str(config_file)}
    assert {m["target"] for m in spec["mounts"]} == set(sources), spec["mounts"]
    spec["mounts"] = [{**m, "source": sources[m["target"]]} for m in spec["mounts"]]
    spec["envs"] = [e for e in spec.get("envs", []) if not e.startswith(("TS_HEALTH_MODELS=", "TS_TORCH_THREADS="))] + [
        f"TS_HEALTH_MODELS={model}", *([f"TS_TORCH_THREADS={torch_threads}"] if torch_threads else [])]
    spec["healthcheck"] = {**spec["healthcheck"], "tests": ["CMD", "/usr/local/bin/ts-healthcheck", model]}
    container = realize_container(client, spec, image_id)
    try:
        ready = wait_ready(container)
        phases = breakdown(container, ready)
        token_auth = "disable_token_authorization=false" in config
        key = exec_json(container, "cat", "/run/torchserve/key_file.json")["inference"]["key"] if token_auth else None
        url = f"http://127.0.0.1:8080/predictions/{model}"
        run_wrk(url, body=body, key=key, connections=connections, seconds=warmup_s)
        with GpuSampler(enabled=bool(GPU_OVERRIDES)) as gpu:
            result = run_wrk(url, body=body, key=key, connections=connections, seconds=seconds)
        result.update(gpu.summary())
        assert result["non2xx"] == 0 and result["socket_errors"] == 0, result
        return {**result, "ready_s": round(ready, 3), "phases": phases}
    finally:
        container.remove(force=True)


def _rows(name: str, runs: dict[str, list[dict]], tuned: Trial) -> list[Measurement]:
    ours, stock, best = runs["generated"], runs["stock"], runs["tuned"]
    note = f"wrk -c{CONCURRENCY} -d{SECONDS}s after {WARMUP_S} s of warm-up load, {len(ours)} interleaved runs each"
    tuned_note = (f"{note}; tuned: {tuned.workers} workers, batch {tuned.batch_size}, "
                  f"delay {tuned.max_batch_delay_ms} ms, torch threads {tuned.torch_threads or 'default'}, "
                  f"CPU launcher {'on' if tuned.cpu_launcher else 'off'}")

    def col(results: list[dict], key: str) -> list[float]:
        return [r[key] for r in results]

    return [
        measure_runs(f"{name}: requests/s, generated config vs stock", col(ours, "rps"), "req/s", col(stock, "rps"),
                     note, AT_LEAST(2.0)),
        measure_runs(f"{name}: p99 latency, generated vs stock", col(ours, "p99_ms"), "ms", col(stock, "p99_ms"),
                     note, AT_MOST(1.0)),
        measure_runs(f"{name}: requests/s, tuned config vs stock", col(best, "rps"), "req/s", col(stock, "rps"),
                     tuned_note, AT_LEAST(2.0)),
        measure_runs(f"{name}: p99 latency, tuned vs stock", col(best, "p99_ms"), "ms", col(stock, "p99_ms"),
                     tuned_note, AT_MOST(1.0)),
        measure_runs(f"{name}: requests/s, tuned vs the static default (generated)", col(best, "rps"), "req/s",
                     col(ours, "rps"), tuned_note, AT_LEAST(1.0)),
        measure_runs(f"{name}: p50 latency, generated vs stock", col(ours, "p50_ms"), "ms", col(stock, "p50_ms"), note),
        measure_runs(f"{name}: start to READY (polled /healthz), generated vs stock", col(ours, "ready_s"), "s",
                     col(stock, "ready_s"), "container start to the first 200 from the worker-aware /healthz"),
    ]


def run() -> tuple[list[Measurement], dict]:
    WORK.mkdir(parents=True, exist_ok=True)
    store = WORK / "model-store"
    store.mkdir(exist_ok=True)
    engine = Engine()
    out: list[Measurement] = []
    raw: dict = {}
    try:
        client = engine.client
        ensure_base_image(client)
        resources = evaluate_program("dev", GPU_OVERRIDES or None)
        image_id, _ = build_declared_image(client, named(resources, "torchserve-image").inputs)
        inputs = only(resources, "docker:index/container:Container").inputs
        for name, bench_model in models().items():
            archive_source(bench_model.source, store)
            out += serve_model(client, inputs, image_id, store, name, bench_model, raw)
    finally:
        engine.close()
    (WORK / "serving-raw.json").write_text(json.dumps(raw, indent=2) + "\n")
    return out, raw


def archive_source(source, store: Path) -> None:
    argv = archive_command(ModelArchiveArgs(source=source, export_dir=store, project_root=ROOT,
                                            archiver=str(ROOT / ".venv/bin/torch-model-archiver")))
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)


def tune(serve, name: str, cores: int) -> tuple[Trial, list[Result], bool]:
    """make tune's search for one bench model (BENCH_TUNE_BUDGET_S), from the dev stack's static default."""
    def measure(trial: Trial) -> Result:
        r = serve_trial(serve, name, trial, seconds=8, warmup_s=TRIAL_WARMUP_S)
        print(f"bench: tune {name}: {trial.label()} -> {r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms", flush=True)
        return Result(trial, r["rps"], r["p50_ms"], r["p99_ms"])

    results, winner, met, _ = search(measure, static_trial(), axes(cores, gpu=bool(GPU_OVERRIDES)), p99_bound_ms(),
                                     TUNE_BUDGET_S)
    return winner.trial, results, met


def serve_trial(serve, name: str, trial: Trial, **kw) -> dict:
    config, threads = trial_serving(name, trial)
    return serve(config, torch_threads=threads, **kw)


def serve_model(client, inputs, image_id, store, name: str, m: BenchModel, raw: dict) -> list[Measurement]:
    serve = lambda config, **kw: serve_and_load(client, inputs, image_id, store, name, config, m.body, **kw)  # noqa: E731
    tuned, sweep, met = tune(serve, name, os.cpu_count() or 1)
    raw.setdefault("tuning", {})[name] = {"recommended": vars(tuned), "meetsP99Bound": met,
                                          "trials": [r.row() for r in sweep]}
    runs: dict[str, list[dict]] = {"stock": [], "generated": [], "tuned": []}
    inprocess: list[float] = []
    model = limits.load_model(m.model_file, m.weights) if name == "cnn" else None
    for i in range(REPEATS):
        print(f"bench: {name}, run {i + 1}/{REPEATS}", flush=True)
        runs["stock"].append(serve(STOCK.format(mar=f"{name}.mar")))
        runs["generated"].append(serve(generated_config(name)))
        runs["tuned"].append(serve_trial(serve, name, tuned))
        if model is not None:  # between runs, on the same (now idle) cores, at the tuned batch size
            inprocess.append(limits.throughput(model, m.features, tuned.batch_size))
    out = _rows(name, runs, tuned)
    if model is not None:
        out.append(measure_runs(f"{name}: served requests/s (tuned) vs in-process batched forward (the limit)",
                                [r["rps"] for r in runs["tuned"]], "req/s", inprocess,
                                f"in-process: batch {tuned.batch_size}, same cores, run between the served runs",
                                AT_LEAST(LIMIT_TARGET)))
    if name == "demo":
        out += demo_rows(serve, m, runs, raw)
    raw[name] = {**raw.get(name, {}), **runs}
    return out


def demo_rows(serve, m: BenchModel, runs: dict, raw: dict) -> list[Measurement]:
    out = [measure_runs("demo: start to READY (polled), generated config vs the 5 s target",
                        [r["ready_s"] for r in runs["generated"]], "s", [READY_TARGET_S] * len(runs["generated"]),
                        "baseline is the target", AT_MOST(1.0))]
    ours = median([r["rps"] for r in runs["generated"]])
    for label, make in ABLATIONS.items():
        other = serve(make("demo"))
        runs[f"generated but {label}"] = [other]
        out.append(measure(f"demo: requests/s, generated but {label}", other["rps"], "req/s", ours,
                           f"one run; baseline: the generated config's median; p99 {other['p99_ms']} ms"))
    model = limits.load_model(m.model_file, m.weights)
    latency = [serve(LATENCY("demo"), connections=1, seconds=10) for _ in range(REPEATS)]
    inproc = [limits.latency_ms(model, m.body["data"]) for _ in range(REPEATS)]
    raw["demo-overhead"] = {"served_c1_batch1": latency, "inprocess_ms": inproc}
    overhead = [r["p50_ms"] - t for r, t in zip(latency, inproc, strict=True)]
    out.append(measure_runs("demo: per-request overhead at concurrency 1 (served p50 − in-process latency)",
                            overhead, "ms", [OVERHEAD_TARGET_MS] * REPEATS,
                            f"batch 1, no batch delay; in-process median {median(inproc):.3f} ms; baseline is the "
                            "2 ms target", AT_MOST(1.0)))
    return out


def startup_phases(raw: dict) -> dict[str, dict[str, float | None]]:
    """Median seconds per start phase, for each model's stock and generated runs."""
    out = {}
    for model, runs in raw.items():
        for config in ("stock", "generated"):
            results = runs.get(config) or []
            if results:
                names = list(results[0]["phases"])
                out[f"{model}, {config}"] = {
                    n: median([r["phases"][n] for r in results if r["phases"][n] is not None] or [0.0]) for n in names}
    return out


def use_gpu() -> None:
    """Serve with the dev stack's CUDA variant on every GPU (the rows stay the same)."""
    global GPU_OVERRIDES
    GPU_OVERRIDES = {"accelerator": "cuda", "cudaVersion": "cu124", "gpus": "all"}


GPU_OVERRIDES: dict = {}
