"""`make bench`, serving part: the module's generated config.properties against TorchServe's stock Docker
config, same image, same machine, same model, one after the other; plus container start to READY.

Both run in the production image built from the dev stack's captured inputs, as the dev stack's declared
container (test overrides: memlock, the bench's model store, the config under test). The stock config
is upstream's docker/config.properties with the model loaded at startup and token auth off, as
upstream's entrypoint runs it (`--disable-token-auth`); the generated one is this module's, token auth on.
"""
from __future__ import annotations

import copy
import json
import subprocess
import time
from pathlib import Path

from torchserve_deploy.model.archive import ModelArchiveArgs, ModelSource, archive_command
from torchserve_deploy.serve.config_properties import ModelServing, render_config_properties

from bench.results import Measurement, measure
from bench.wrk import run_wrk
from infra.settings import load_settings
from tests.engine import Engine, build_declared_image, ensure_base_image, exec_json, realize_container, wait_healthy
from tests.mocks import ROOT, evaluate_program, named, only

WORK = ROOT / ".build/bench"
CONCURRENCY, SECONDS = 16, 15
STOCK = """inference_address=http://0.0.0.0:8080
management_address=http://0.0.0.0:8081
metrics_address=http://0.0.0.0:8082
grpc_inference_address=0.0.0.0
grpc_management_address=0.0.0.0
number_of_netty_threads=32
job_queue_size=1000
model_store=/home/model-server/model-store
workflow_store=/home/model-server/wf-store
disable_token_authorization=true
load_models={mar}
"""


def models() -> dict[str, tuple[ModelSource, dict]]:
    wide_dir = ROOT / "bench/models/wide"
    weights = WORK / "wide.pt"
    if not weights.exists():
        subprocess.run([str(ROOT / ".venv/bin/python"), str(wide_dir / "make_weights.py"), str(weights)], check=True)
    demo = load_settings({}, stack="dev", root=ROOT).models[0].source
    wide = ModelSource(name="wide", version="1.0", handler=ROOT / "models/demo/handler.py",
                       model_file=wide_dir / "model.py", serialized_file=weights)
    return {"demo": (demo, {"data": [1.0, 2.0, 3.0, 4.0]}),
            "wide": (wide, {"data": [round(0.01 * i, 2) for i in range(64)]})}


def generated_config(model: str, **serving) -> str:
    """The config this module generates for the dev stack's settings, serving `model` (`serving` overrides
    ModelServing fields, for the ablations)."""
    s = load_settings({}, stack="dev", root=ROOT)
    m = s.models[0]
    fields = {"min_workers": m.workers, "max_workers": m.workers, "batch_size": m.batch_size,
              "max_batch_delay_ms": m.max_batch_delay_ms, **serving}
    return render_config_properties((ModelServing(model, **fields),))


def with_line(config: str, key: str, value: str) -> str:
    lines = [line for line in config.splitlines() if not line.startswith(f"{key}=")]
    return "\n".join([*lines, f"{key}={value}"]) + "\n"


# Each generated choice reverted to TorchServe's stock value, one at a time: its measured effect.
ABLATIONS = {
    "workers = cores (2), stock": lambda m: generated_config(m, min_workers=2, max_workers=2),
    "batch size 1, stock": lambda m: generated_config(m, batch_size=1, max_batch_delay_ms=100),
    "metrics_mode=log, stock": lambda m: with_line(generated_config(m), "metrics_mode", "log"),
    "token auth off, as upstream's entrypoint": lambda m: with_line(generated_config(m), "disable_token_authorization", "true"),
}


def serve_and_load(client, inputs: dict, image_id: str, store: Path, model: str, config: str, body: dict) -> dict:
    spec = copy.deepcopy(inputs)
    spec["uploads"] = [{"file": "/home/model-server/config.properties", "content": config}]
    spec["mounts"] = [{**m, "source": str(store)} for m in spec["mounts"]]
    spec["healthcheck"] = {**spec["healthcheck"], "tests": ["CMD", "/usr/local/bin/ts-healthcheck", model]}
    started = time.monotonic()
    container = realize_container(client, spec, image_id)
    try:
        wait_healthy(container, timeout_s=300)
        ready = time.monotonic() - started
        token_auth = "disable_token_authorization=false" in config
        key = exec_json(container, "cat", "/home/model-server/key_file.json")["inference"]["key"] if token_auth else None
        url = f"http://127.0.0.1:8080/predictions/{model}"
        run_wrk(url, body=body, key=key, connections=CONCURRENCY, seconds=5)  # warm-up
        result = run_wrk(url, body=body, key=key, connections=CONCURRENCY, seconds=SECONDS)
        assert result["non2xx"] == 0 and result["socket_errors"] == 0, result
        result["ready_s"] = ready
        return result
    finally:
        container.remove(force=True)


def run() -> list[Measurement]:
    WORK.mkdir(parents=True, exist_ok=True)
    store = WORK / "model-store"
    store.mkdir(exist_ok=True)
    engine = Engine()
    out: list[Measurement] = []
    raw = {}
    try:
        client = engine.client
        ensure_base_image(client)
        resources = evaluate_program("dev")
        image_id, _ = build_declared_image(client, named(resources, "torchserve-image").inputs)
        inputs = only(resources, "docker:index/container:Container").inputs
        for name, (source, body) in models().items():
            argv = archive_command(ModelArchiveArgs(source=source, export_dir=store, project_root=ROOT,
                                                    archiver=str(ROOT / ".venv/bin/torch-model-archiver")))
            subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
            stock = serve_and_load(client, inputs, image_id, store, name, STOCK.format(mar=f"{name}.mar"), body)
            ours = serve_and_load(client, inputs, image_id, store, name, generated_config(name), body)
            raw[name] = {"stock": stock, "generated": ours}
            if name == "demo":
                for label, make in ABLATIONS.items():
                    other = serve_and_load(client, inputs, image_id, store, name, make(name), body)
                    raw[name][label] = other
                    out.append(measure(f"{name}: requests/s, generated but {label}", other["rps"], "req/s", ours["rps"],
                                       f"baseline: the generated config; p99 {other['p99_ms']} ms vs {ours['p99_ms']} ms"))
            out += [
                measure(f"{name}: requests/s, generated config vs stock", ours["rps"], "req/s", stock["rps"],
                        f"wrk -c{CONCURRENCY} -d{SECONDS}s; target ratio >= 2.0"),
                measure(f"{name}: p99 latency, generated vs stock", ours["p99_ms"], "ms", stock["p99_ms"],
                        "target ratio <= 1.0"),
                measure(f"{name}: p50 latency, generated vs stock", ours["p50_ms"], "ms", stock["p50_ms"], ""),
                measure(f"{name}: container start to READY, generated vs stock", ours["ready_s"], "s",
                        stock["ready_s"], "start of the container to the healthcheck passing"),
            ]
    finally:
        engine.close()
    (WORK / "serving-raw.json").write_text(json.dumps(raw, indent=2) + "\n")
    return out
